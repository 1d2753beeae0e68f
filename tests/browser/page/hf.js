// Runs inside Chromium on http://localhost:<page port>. Everything it loads comes from modelhost on 127.0.0.1.

const transformersPath = '/npm/@huggingface/transformers@4.3.2/dist/transformers.min.js';
const ortPath = '/npm/onnxruntime-web@1.31.0-dev.20260914-8d85527a0/dist/ort-wasm-simd-threaded.asyncify';

// transformers.js with only env.remoteHost changed (and the ONNX Runtime wasm from the same server): a
// feature-extraction pipeline on acme/tiny, every progress event kept for the test to check.
window.runTransformers = async (server, hubBase) => {
  const events = [];
  try {
    const { pipeline, env } = await import(server + transformersPath);
    env.remoteHost = hubBase;
    env.backends.onnx.wasm.wasmPaths = { mjs: server + ortPath + '.mjs', wasm: server + ortPath + '.wasm' };
    const extract = await pipeline('feature-extraction', 'acme/tiny', {
      progress_callback: (e) => events.push({ status: e.status, file: e.file, loaded: e.loaded, total: e.total, progress: e.progress }),
    });
    const out = await extract('Hello world');
    return { ok: true, dims: out.dims, data: Array.from(out.data), events };
  } catch (e) {
    return { ok: false, error: String(e && e.stack || e), events };
  }
};

// WebLLM stores each file with Cache.add, which refuses a 206, a Vary: * or a failed CORS check: every file of a
// WebLLM-shaped folder is added, then read back.
window.runCacheAdd = async (hubBase, files) => {
  try {
    const cache = await caches.open('webllm-shaped');
    const sizes = {};
    for (const f of files) {
      const url = `${hubBase}acme/webllm-tiny/resolve/main/${f}`;
      await cache.add(url);
      sizes[f] = (await (await cache.match(url)).arrayBuffer()).byteLength;
    }
    await caches.delete('webllm-shaped');
    return { ok: true, sizes };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
};
