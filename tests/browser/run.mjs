#!/usr/bin/env node
// One browser test case: a page on http://localhost:<A> (served by one modelhost) loads real face models from
// modelhost on http://127.0.0.1:<B> (another site) in Debian's Chromium, and the outcome is asserted.
// Usage: node run.mjs CASE   (CASE: tfjs-allowed, tfjs-refused, tfjs-wildcard, tfjs-h2, mirror, mediapipe, demo)
// tfjs-h2 serves the models over HTTPS (a certificate made for the run) and HTTP/2.
import { chromium } from 'playwright-core';
import { chromiumFlags, runMain, startModelhost as start, stop, verdict } from './modelhost.mjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.BROWSER_TEST_MODELHOST;
const corsBlocked = /from origin '(http:\/\/localhost:\d+)' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource/;

// Each case: the model server's cors section (given the page origin), the runtime, and what must hold.
const cases = {
  'tfjs-allowed': {
    cors: (page) => ({ allow_origins: [page], allow_credentials: false }),
    runtime: 'tfjs',
    check: (r) => [r.ok, `detection failed: ${r.error}`, r.keypoints > 400, `only ${r.keypoints} keypoints`],
  },
  'tfjs-wildcard': {
    cors: () => ({ allow_origins: ['*'] }),
    runtime: 'tfjs',
    check: (r) => [r.ok, `detection failed: ${r.error}`, r.keypoints > 400, `only ${r.keypoints} keypoints`],
  },
  'tfjs-refused': {
    cors: () => ({ allow_origins: ['https://app.example.com'] }),
    runtime: 'tfjs',
    check: (r, logs, page, server) => [
      !r.ok, `the model loaded although ${page} is not allowed`,
      /Failed to fetch/.test(r.error || ''), `failed for another reason: ${r.error}`,
      logs.some((l) => corsBlocked.test(l) && l.includes(`from origin '${page}'`)), 'no CORS error in the console',
      /"GET \/(face_mesh|face_detection_short)\/model\.json HTTP\/1\.1" 200 .*note="CORS: origin not allowed"/.test(server.output()),
      'the server did not answer model.json with 200 and log the refused origin',
    ],
  },
  'tfjs-h2': {
    cors: (page) => ({ allow_origins: [page] }),
    runtime: 'tfjs',
    tls: true,
    check: (r, logs, page, server) => {
      const lines = server.output().split('\n').filter((l) => / "GET \/face_(mesh|detection_short)\//.test(l));
      const notH2 = r.resources.filter((e) => e.protocol !== 'h2');
      return [r.ok, `detection failed: ${r.error}`, r.keypoints > 400, `only ${r.keypoints} keypoints`,
        r.resources.length >= 4, `only ${r.resources.length} model files in the resource timing`,
        notH2.length === 0, `not over h2: ${JSON.stringify(notH2)}`,
        lines.length >= 4 && lines.every((l) => / HTTP\/2" 200 /.test(l)), `the access log shows other than HTTP/2 200:\n${lines.join('\n')}`];
    },
  },
  mediapipe: {
    cors: (page) => ({ allow_origins: [page] }),
    runtime: 'mediapipe',
    check: (r, logs, page, server) => [
      r.ok, `detection failed: ${r.error}`, r.keypoints > 400, `only ${r.keypoints} keypoints`,
      !logs.some((l) => /wasm streaming compile failed/i.test(l)), 'wasm streaming compile failed (wrong Content-Type?)',
      !logs.some((l) => /blocked by CORS policy/.test(l)), 'a CORS error appeared',
      /"GET \/mediapipe\/face_mesh\/[^"]*\.wasm HTTP\/1\.1" 200 /.test(server.output()), 'the .wasm did not come from modelhost',
      /"GET \/mediapipe\/face_mesh\/face_mesh\.binarypb HTTP\/1\.1" 200 /.test(server.output()), 'the graph did not come from modelhost',
    ],
  },
  // The model server is a mirror whose root starts empty: /hub/ is filled from another modelhost (serving the models)
  // through a hop that redirects every request there. The page loads the models twice, in two fresh browser contexts.
  mirror: {
    cors: (page) => ({ allow_origins: [page] }),
    runtime: 'tfjs',
    mirror: true,
    check: (r, logs, page, server, m) => [
      r.ok, `detection failed: ${r.error}`, r.keypoints > 400, `only ${r.keypoints} keypoints`,
      m.second.ok && m.second.keypoints > 400, `the second load failed: ${m.second.error}`,
      m.stored.length >= 4, `only ${m.stored.length} files stored in the mirror's root: ${m.stored}`,
      m.differing.length === 0, `stored files differ from the upstream's: ${m.differing}`,
      m.upstreamAfterSecond === m.upstreamAfterFirst, `the second load asked upstream ${m.upstreamAfterSecond - m.upstreamAfterFirst} more times`,
      m.hops >= 4, `only ${m.hops} requests went through the redirecting hop`,
      /"GET \/hub\/face_mesh\/facemesh\.bin HTTP\/1\.1" 200 .*note="mirror: (streamed while fetched|waited) /.test(server.output()),
      'the access log does not show the shard fetched from upstream',
    ],
  },
  demo: {
    cors: (page) => ({ allow_origins: [page] }),
    runtime: 'demo',
    check: (r) => [r.ok, `the demo model failed: ${r.error}`, r.outputs === 3, `expected 3 outputs, got ${r.outputs}`,
      Math.abs(r.sum - 1) < 1e-4, `softmax outputs sum to ${r.sum}`],
  },
};

const startModelhost = (args, name) => start(binary, args, name);

// A self-signed certificate for 127.0.0.1, made with Debian's openssl in `dir`, as modelhost's tls section.
function throwawayCertificate(dir) {
  const cert_file = join(dir, 'cert.pem');
  const key_file = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key_file, '-out', cert_file, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert_file, key_file };
}

// Loads the page in a fresh browser context (no cached files) and runs the case; adds every file fetched from the
// model server, with the protocol it came over.
async function loadModels(browser, spec, pageOrigin, models, base, logs) {
  // The certificate is made for this run: the browser is told to accept it (ALPN and h2 are unaffected).
  const context = await browser.newContext({ ignoreHTTPSErrors: !!spec.tls });
  const page = await context.newPage();
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${pageOrigin}/page/index.html`);
  const result = await page.evaluate(([runtime, url]) => window.runCase(runtime, url), [spec.runtime, models]);
  result.resources = await page.evaluate((origin) => performance.getEntriesByType('resource')
    .filter((e) => e.name.startsWith(origin)).map((e) => ({ url: e.name, protocol: e.nextHopProtocol })), base);
  await context.close();
  return result;
}

// The mirror's upstream: a modelhost serving the models, behind a hop that redirects every request to it. Rewrites
// the model server's config (`config`) into a mirror of /hub/ with an empty root.
async function startMirrorUpstream(tmp, config, servers) {
  const upstream = await startModelhost(['--root', join(here, 'assets', 'models'), '--port', '0'], 'upstream');
  servers.push(upstream);
  const hop = createServer((req, res) => {
    hop.count += 1;
    res.writeHead(302, { Location: `http://127.0.0.1:${upstream.port}${req.url}`, 'Content-Length': 0 }).end();
  });
  hop.count = 0;
  await new Promise((resolve) => hop.listen(0, '127.0.0.1', resolve));
  servers.push({ stopHop: () => new Promise((resolve) => hop.close(resolve)) });
  mkdirSync(join(tmp, 'mirror-root'));
  const cfg = JSON.parse(readFileSync(config, 'utf8'));
  cfg.server.root = join(tmp, 'mirror-root');
  cfg.mirrors = [{ path: '/hub/', upstream: `http://127.0.0.1:${hop.address().port}/` }];
  writeFileSync(config, JSON.stringify(cfg));
  return { upstream, hop };
}

// Requests in a modelhost's access log so far.
const requestLines = (proc) => proc.output().split('\n').filter((l) => / access .*"GET /.test(l)).length;

// The files under `dir`, as paths relative to it ([] when it does not exist).
function storedFiles(dir, prefix = '') {
  let entries = [];
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? storedFiles(dir, join(prefix, e.name))
    : e.isFile() ? [join(prefix, e.name)] : []));
}

async function main() {
  const name = process.argv[2];
  const spec = cases[name];
  if (!spec || !binary) throw new Error(`usage: BROWSER_TEST_MODELHOST=... node run.mjs ${Object.keys(cases).join('|')}`);
  const tmp = mkdtempSync(join(tmpdir(), 'modelhost-browser-'));
  const servers = [];
  let browser;
  try {
    const pageServer = await startModelhost(['--root', here, '--host', 'localhost', '--port', '0'], 'page server');
    servers.push(pageServer);
    const pageOrigin = `http://localhost:${pageServer.port}`;
    const config = join(tmp, 'models.json');
    writeFileSync(config, JSON.stringify({
      server: { host: '127.0.0.1', port: 0, root: join(here, 'assets', 'models') },
      cors: spec.cors(pageOrigin),
      // Resource Timing shows a cross-origin file's protocol only with Timing-Allow-Origin.
      headers: { 'Cross-Origin-Resource-Policy': 'cross-origin', 'Timing-Allow-Origin': '*' },
      ...(spec.tls ? { tls: throwawayCertificate(tmp) } : {}),
    }));
    const mirror = spec.mirror ? await startMirrorUpstream(tmp, config, servers) : null;
    const modelServer = await startModelhost(['--config', config], 'model server');
    servers.push(modelServer);
    const base = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${modelServer.port}`;
    const models = mirror ? `${base}/hub` : base;

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumFlags });
    const logs = [];
    const result = await loadModels(browser, spec, pageOrigin, models, base, logs);
    if (mirror) {
      mirror.upstreamAfterFirst = requestLines(mirror.upstream);
      mirror.second = await loadModels(browser, spec, pageOrigin, models, base, logs);
      mirror.upstreamAfterSecond = requestLines(mirror.upstream);
      mirror.stored = storedFiles(join(tmp, 'mirror-root', 'hub'));
      mirror.differing = mirror.stored.filter((f) => !readFileSync(join(tmp, 'mirror-root', 'hub', f))
        .equals(readFileSync(join(here, 'assets', 'models', f))));
      mirror.hops = mirror.hop.count;
    }

    await stop(modelServer);  // its access log is complete once it has exited
    const checks = spec.check(result, logs, pageOrigin, modelServer, mirror);
    const failures = [];
    for (let i = 0; i < checks.length; i += 2) if (!checks[i]) failures.push(checks[i + 1]);
    console.log(`${name}: page ${pageOrigin}, models ${models}, result ${JSON.stringify(result)}`);
    verdict(name, failures, logs, modelServer.output());
  } finally {
    if (browser) await browser.close();
    await Promise.all(servers.map((s) => (s.stopHop ? s.stopHop() : stop(s))));
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
