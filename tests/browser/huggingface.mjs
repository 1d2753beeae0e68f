#!/usr/bin/env node
// The Hugging Face layout with real clients. A page on http://localhost:<A> runs transformers.js in Debian's Chromium
// against modelhost on http://127.0.0.1:<B> (another site) with only env.remoteHost changed, and stores a
// WebLLM-shaped folder with Cache.add; @huggingface/hub in Node downloads and lists through modelhost.
// transformers-folder serves a folder `modelhost fetch hf:acme/tiny` fetched from the canned hub below;
// transformers-mirror does it through a huggingface mirror whose root starts empty, in front of a canned hub written
// here in the hub's shapes (a 302 to a separate CDN origin for LFS files, relative redirects for small ones, Xet
// headers), and loads the page twice.
// Usage: node huggingface.mjs CASE   (CASE: transformers-folder, transformers-mirror, webllm-cache-add, hub-client)
import { chromium } from 'playwright-core';
import { chromiumFlags, runMain, startModelhost as start, stop, verdict } from './modelhost.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.BROWSER_TEST_MODELHOST;
const root = join(here, 'assets-hf', 'root');
const VOCAB = 340000;  // make_hf_model.py

const sizeOf = (repo, file) => statSync(join(root, repo, file)).size;

// Every file under `dir`, relative to it.
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name))).sort();
}

// transformers.js progress: every event of a file reports its real size as the total, never more loaded than that,
// and 100% only at the last byte.
function progressProblems(events) {
  const problems = [];
  const seen = {};
  for (const e of events.filter((x) => x.status === 'progress')) {
    const size = sizeOf('acme/tiny', e.file);
    seen[e.file] = (seen[e.file] || 0) + 1;
    if (e.total !== size) problems.push(`${e.file}: total ${e.total}, the file has ${size} bytes`);
    if (e.loaded > e.total) problems.push(`${e.file}: ${e.loaded} loaded of ${e.total}`);
    if (e.progress >= 100 && e.loaded !== size) problems.push(`${e.file}: ${e.progress}% at ${e.loaded} of ${size} bytes`);
  }
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'])
    if (!seen[f]) problems.push(`no progress event for ${f}`);
  if ((seen['tokenizer.json'] || 0) < 3) problems.push(`tokenizer.json (${sizeOf('acme/tiny', 'tokenizer.json')} bytes) reported ${seen['tokenizer.json'] || 0} progress events`);
  return problems.slice(0, 10);
}

// The progress checks compare against the files under `root` (the assets), which the fetched or mirrored copies
// must equal byte for byte.
// The embedding of "[CLS] hello world [SEP]" (ids 2, 4, 5, 3): each token's vector is (id .. id+3) / VOCAB.
function embeddingProblems(r) {
  if (!r.ok) return [`the pipeline failed: ${r.error}`];
  if (JSON.stringify(r.dims) !== '[1,4,4]') return [`dims ${JSON.stringify(r.dims)}, not [1,4,4]`];
  const ids = [2, 4, 5, 3];
  const bad = r.data.filter((v, i) => Math.abs(v - (ids[Math.floor(i / 4)] + (i % 4)) / VOCAB) > 1e-9);
  return bad.length ? [`unexpected embedding values: ${r.data.slice(0, 8)}`] : [];
}

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

// A canned hub serving acme/tiny from the assets at one commit, with its CDN: counts every request each gets.
async function startCannedHub() {
  const commit = 'c0ffee0123456789abcdef0123456789abcdef01';
  const repo = join(root, 'acme/tiny');
  const files = filesUnder(repo);
  const sha = Object.fromEntries(files.map((f) => [f, createHash('sha256').update(readFileSync(join(repo, f))).digest('hex')]));
  const lfs = (f) => f.endsWith('.onnx');
  const cdn = createServer((req, res) => {
    cdn.count += 1;
    const f = files.find((x) => req.url.startsWith(`/lfs/${sha[x]}?`));
    if (!f) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': sizeOf('acme/tiny', f), 'ETag': `"${sha[f]}"`, 'X-Xet-Hash': 'ab12', 'Content-Type': 'binary/octet-stream' });
    res.end(readFileSync(join(repo, f)));
  });
  cdn.count = 0;
  const cdnPort = await listen(cdn);
  const hub = createServer((req, res) => {
    hub.count += 1;
    const url = new URL(req.url, 'http://hub');
    if (url.pathname.startsWith('/api/models/acme/tiny/revision/')) {
      const siblings = [{ rfilename: '.gitattributes', size: 1519 },
        ...files.map((f) => ({ rfilename: f, size: sizeOf('acme/tiny', f), ...(lfs(f) ? { lfs: { sha256: sha[f], size: sizeOf('acme/tiny', f), pointerSize: 134 } } : {}) }))];
      const body = JSON.stringify({ _id: 'x', id: 'acme/tiny', sha: commit, siblings });
      return res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Repo-Commit': commit }).end(body);
    }
    const prefix = `/acme/tiny/resolve/${commit}/`, cache = `/api/resolve-cache/models/acme/tiny/${commit}/`;
    if (url.pathname.startsWith(cache)) {
      const f = decodeURIComponent(url.pathname.slice(cache.length));
      if (!files.includes(f)) return res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end();
      return res.writeHead(200, { 'Content-Length': sizeOf('acme/tiny', f), 'X-Repo-Commit': commit }).end(readFileSync(join(repo, f)));
    }
    if (!url.pathname.startsWith(prefix)) return res.writeHead(404, { 'X-Error-Code': 'RepoNotFound' }).end();
    const f = decodeURIComponent(url.pathname.slice(prefix.length));
    if (!files.includes(f)) return res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': commit }).end();
    if (lfs(f)) {
      return res.writeHead(302, { Location: `http://127.0.0.1:${cdnPort}/lfs/${sha[f]}?X-Amz-Signature=x`, 'X-Linked-Etag': `"${sha[f]}"`,
        'X-Linked-Size': sizeOf('acme/tiny', f), 'X-Xet-Hash': 'ab12', 'X-Repo-Commit': commit, 'Content-Length': 0 }).end();
    }
    res.writeHead(307, { Location: cache + encodeURIComponent(f), 'X-Repo-Commit': commit, 'Content-Length': 0 }).end();
  });
  hub.count = 0;
  const hubPort = await listen(hub);
  return { commit, hub, cdn, base: `http://127.0.0.1:${hubPort}/`,
    close: () => Promise.all([hub, cdn].map((s) => new Promise((resolve) => s.close(resolve)))) };
}

async function withBrowser(pageOrigin, modelServer, fn) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumFlags });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const logs = [], elsewhere = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    page.on('request', (q) => {
      const u = new URL(q.url());
      if (u.origin !== pageOrigin && u.origin !== modelServer && u.protocol !== 'blob:' && u.protocol !== 'data:') elsewhere.push(q.url());
    });
    await page.goto(`${pageOrigin}/page/hf.html`);
    await page.waitForFunction(() => window.runTransformers && window.runCacheAdd);
    return await fn(page, logs, elsewhere, async () => {  // the same page in a fresh context (no cached file)
      const again = await (await browser.newContext()).newPage();
      await again.goto(`${pageOrigin}/page/hf.html`);
      await again.waitForFunction(() => window.runTransformers);
      return again;
    });
  } finally {
    await browser.close();
  }
}

const cases = {
  'transformers-folder': async ({ pageOrigin, server, modelServer }) => withBrowser(pageOrigin, server, async (page, logs, elsewhere) => {
    const r = await page.evaluate(([s, hub]) => window.runTransformers(s, hub), [server, server + '/']);
    await stop(modelServer);
    const log = modelServer.output();
    return {
      summary: { ok: r.ok, dims: r.dims, events: r.events.length, error: r.error },
      logs,
      failures: [
        ...embeddingProblems(r), ...progressProblems(r.events),
        ...elsewhere.map((u) => `a request left the two servers: ${u}`),
        ...(/"GET \/acme\/tiny\/resolve\/main\/tokenizer\.json HTTP\/1\.1" 206 /.test(log) ? [] : ['no 206 to the Range probe of tokenizer.json']),
        ...(/"GET \/acme\/tiny\/resolve\/main\/onnx\/model_quantized\.onnx HTTP\/1\.1" 200 /.test(log) ? [] : ['the ONNX file was not served under /resolve/main/']),
        ...(/"GET \/npm\/onnxruntime-web@[^/]+\/dist\/ort-wasm-simd-threaded\.asyncify\.wasm HTTP\/1\.1" 200 /.test(log) ? [] : ['the ONNX Runtime wasm did not come from modelhost']),
      ],
    };
  }),
  'transformers-mirror': async ({ pageOrigin, server, modelServer, hub, mirrorRoot }) => withBrowser(pageOrigin, server, async (page, logs, elsewhere, freshPage) => {
    const runtime = `${pageOrigin}/assets-hf/root`;  // (the model server's root starts empty)
    const r = await page.evaluate(([s, h]) => window.runTransformers(s, h), [runtime, server + '/hf/']);
    const afterFirst = hub.hub.count + hub.cdn.count;
    const again = await (await freshPage()).evaluate(([s, h]) => window.runTransformers(s, h), [runtime, server + '/hf/']);
    const afterSecond = hub.hub.count + hub.cdn.count;
    await stop(modelServer);
    const stored = join(mirrorRoot, 'hf/acme/tiny/resolve', hub.commit);
    const differing = filesUnder(join(root, 'acme/tiny')).filter((f) => {
      try { return !readFileSync(join(stored, f)).equals(readFileSync(join(root, 'acme/tiny', f))); } catch { return true; }
    });
    const log = modelServer.output();
    return {
      summary: { ok: r.ok, again: again.ok, events: r.events.length, hub: hub.hub.count, cdn: hub.cdn.count, error: r.error || again.error },
      logs,
      failures: [
        ...embeddingProblems(r), ...progressProblems(r.events), ...embeddingProblems(again).map((p) => `second load: ${p}`),
        ...elsewhere.map((u) => `a request left the two servers: ${u}`),
        ...differing.map((f) => `${f} is not stored under the commit as the hub has it`),
        ...(afterSecond === afterFirst ? [] : [`the second page load asked the hub ${afterSecond - afterFirst} more times`]),
        ...(hub.cdn.count >= 1 ? [] : ['the LFS file did not come through the CDN redirect']),
        ...(/"GET \/hf\/acme\/tiny\/resolve\/main\/tokenizer\.json HTTP\/1\.1" 206 /.test(log) ? [] : ['no 206 to the Range probe through the mirror']),
        ...(/X-Xet|x-xet/.test(JSON.stringify(r)) ? ['a Xet header leaked'] : []),
      ],
    };
  }),
  'webllm-cache-add': async ({ pageOrigin, server, modelServer }) => withBrowser(pageOrigin, server, async (page, logs) => {
    const files = filesUnder(join(root, 'acme/webllm-tiny'));
    const r = await page.evaluate(([hub, f]) => window.runCacheAdd(hub, f), [server + '/', files]);
    await stop(modelServer);
    const failures = r.ok ? files.filter((f) => r.sizes[f] !== sizeOf('acme/webllm-tiny', f)).map((f) => `${f}: ${r.sizes[f]} bytes cached`)
      : [`Cache.add failed: ${r.error}`];
    if (files.length < 4) failures.push(`only ${files.length} files in the WebLLM-shaped folder`);
    return { summary: r, logs, failures };
  }),
  'hub-client': async ({ server, modelServer }) => {
    const hub = await import('@huggingface/hub');
    const repo = { type: 'model', name: 'acme/tiny' };
    const failures = [];
    const listed = [];
    for await (const e of hub.listFiles({ repo, recursive: true, hubUrl: server })) listed.push(e);
    const listedFiles = listed.filter((e) => e.type === 'file').map((e) => e.path).sort();
    const onDisk = filesUnder(join(root, 'acme/tiny'));
    if (JSON.stringify(listedFiles) !== JSON.stringify(onDisk)) failures.push(`listFiles gave ${listedFiles}, the folder holds ${onDisk}`);
    const onnx = listed.find((e) => e.path === 'onnx/model_quantized.onnx');
    if (!onnx || !onnx.lfs || onnx.lfs.size !== sizeOf('acme/tiny', onnx.path)) failures.push(`the ONNX file's LFS facts: ${JSON.stringify(onnx)}`);
    for (const f of onDisk) {
      const blob = await hub.downloadFile({ repo, path: f, hubUrl: server });
      const got = Buffer.from(await blob.arrayBuffer());
      if (!got.equals(readFileSync(join(root, 'acme/tiny', f)))) failures.push(`downloadFile(${f}) is not byte-identical (${got.length} bytes)`);
    }
    const info = await hub.fileDownloadInfo({ repo, path: 'onnx/model_quantized.onnx', hubUrl: server });
    if (info.size !== sizeOf('acme/tiny', 'onnx/model_quantized.onnx')) failures.push(`fileDownloadInfo size ${info.size}`);
    if (!/^"[0-9a-f]{64}"$/.test(info.etag)) failures.push(`fileDownloadInfo etag ${info.etag}: not the LFS SHA-256`);
    const missing = await hub.fileDownloadInfo({ repo, path: 'no-such-file.json', hubUrl: server });
    if (missing !== null) failures.push(`fileDownloadInfo of a missing file gave ${JSON.stringify(missing)}, not null`);
    // Over a page of the tree: acme/many holds more entries than one page (1000).
    let many = 0;
    for await (const e of hub.listFiles({ repo: { type: 'model', name: 'acme/many' }, recursive: true, hubUrl: server })) if (e.type === 'file') many += 1;
    if (many !== 1500) failures.push(`listFiles over pages gave ${many} of 1500 files`);
    await stop(modelServer);
    return { summary: { listed: listed.length, many }, logs: [], failures };
  },
};

async function main() {
  const name = process.argv[2];
  const run = cases[name];
  if (!run || !binary) throw new Error(`usage: BROWSER_TEST_MODELHOST=... node huggingface.mjs ${Object.keys(cases).join('|')}`);
  const tmp = mkdtempSync(join(tmpdir(), 'modelhost-hf-'));
  const servers = [];
  try {
    const pageServer = await start(binary, ['--root', here, '--host', 'localhost', '--port', '0'], 'page server');
    servers.push(pageServer);
    const pageOrigin = `http://localhost:${pageServer.port}`;
    let modelRoot = root, hub = null, mirrors = [];
    if (name === 'transformers-folder') {  // a folder fetched from the canned hub, the runtime beside it
      modelRoot = join(tmp, 'fetched-root');
      hub = await startCannedHub();
      servers.push({ stopHub: hub.close });
      const { stdout: out } = await promisify(execFile)(binary, ['fetch', 'hf:acme/tiny', '--root', modelRoot],
        { env: { ...process.env, HF_ENDPOINT: hub.base } });  // (async: the canned hub answers from this process)
      if (!/installed acme\/tiny: .* verified, commit /.test(out)) throw new Error(`fetch hf:acme/tiny did not install:\n${out}`);
      const { cpSync } = await import('node:fs');
      cpSync(join(root, 'npm'), join(modelRoot, 'npm'), { recursive: true });
      const differing = filesUnder(join(root, 'acme/tiny')).filter((f) => !readFileSync(join(modelRoot, 'acme/tiny', f)).equals(readFileSync(join(root, 'acme/tiny', f))));
      if (differing.length) throw new Error(`fetched files differ: ${differing}`);
    }
    if (name === 'transformers-mirror') {  // an empty root, filled from the canned hub on first use
      modelRoot = join(tmp, 'mirror-root');
      mkdirSync(modelRoot);
      hub = await startCannedHub();
      servers.push({ stopHub: hub.close });
      mirrors = [{ path: '/hf/', upstream: hub.base, kind: 'huggingface' }];
    }
    if (name === 'hub-client') {  // the tiny model beside a folder of 1500 files, in a root of the test's own
      modelRoot = join(tmp, 'root');
      const { cpSync, mkdirSync } = await import('node:fs');
      cpSync(join(root, 'acme/tiny'), join(modelRoot, 'acme/tiny'), { recursive: true, preserveTimestamps: true });
      mkdirSync(join(modelRoot, 'acme/many/part'), { recursive: true });
      for (let i = 0; i < 1500; i++) writeFileSync(join(modelRoot, 'acme/many/part', `f${String(i).padStart(4, '0')}.txt`), `${i}\n`);
    }
    const config = join(tmp, 'models.json');
    writeFileSync(config, JSON.stringify({
      server: { host: '127.0.0.1', port: 0, root: modelRoot },
      cors: { allow_origins: [pageOrigin] },
      mirrors,
    }));
    const modelServer = await start(binary, ['--config', config], 'model server');
    servers.push(modelServer);
    const server = `http://127.0.0.1:${modelServer.port}`;
    const { summary, logs, failures } = await run({ pageOrigin, server, modelServer, hub, mirrorRoot: modelRoot });
    console.log(`${name}: page ${pageOrigin}, models ${server}, result ${JSON.stringify(summary)}`);
    verdict(name, failures, logs, modelServer.output().slice(-6000));
  } finally {
    await Promise.all(servers.map((s) => (s.stopHub ? s.stopHub() : stop(s))));
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
