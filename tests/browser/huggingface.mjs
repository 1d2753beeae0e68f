#!/usr/bin/env node
// The Hugging Face layout with real clients. A page on http://localhost:<A> runs transformers.js in Debian's Chromium
// against modelhost on http://127.0.0.1:<B> (another site) with only env.remoteHost changed, and stores a
// WebLLM-shaped folder with Cache.add; @huggingface/hub in Node downloads and lists through modelhost.
// Usage: node huggingface.mjs CASE   (CASE: transformers-folder, webllm-cache-add, hub-client)
import { chromium } from 'playwright-core';
import { startModelhost as start, stop } from './modelhost.mjs';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.BROWSER_TEST_MODELHOST;
const root = join(here, 'assets-hf', 'root');
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
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

// The embedding of "[CLS] hello world [SEP]" (ids 2, 4, 5, 3): each token's vector is (id .. id+3) / VOCAB.
function embeddingProblems(r) {
  if (!r.ok) return [`the pipeline failed: ${r.error}`];
  if (JSON.stringify(r.dims) !== '[1,4,4]') return [`dims ${JSON.stringify(r.dims)}, not [1,4,4]`];
  const ids = [2, 4, 5, 3];
  const bad = r.data.filter((v, i) => Math.abs(v - (ids[Math.floor(i / 4)] + (i % 4)) / VOCAB) > 1e-9);
  return bad.length ? [`unexpected embedding values: ${r.data.slice(0, 8)}`] : [];
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
    return await fn(page, logs, elsewhere);
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
    let modelRoot = root;
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
    }));
    const modelServer = await start(binary, ['--config', config], 'model server');
    servers.push(modelServer);
    const server = `http://127.0.0.1:${modelServer.port}`;
    const { summary, logs, failures } = await run({ pageOrigin, server, modelServer });
    console.log(`${name}: page ${pageOrigin}, models ${server}, result ${JSON.stringify(summary)}`);
    if (failures.length) {
      console.log(`console:\n  ${logs.join('\n  ')}\nmodel server:\n${modelServer.output().slice(-6000)}`);
      console.log(`FAIL ${name}: ${failures.join('; ')}`);
      process.exitCode = 1;
    } else {
      console.log(`PASS ${name}`);
    }
  } finally {
    await Promise.all(servers.map((s) => stop(s)));
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`FAIL ${process.argv[2]}: ${e.stack || e}`);
  process.exit(1);
});
