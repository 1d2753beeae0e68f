// Runs inside Chromium on http://localhost:<page port>, a cross-origin isolated page. ONNX Runtime Web (the
// wasm-only build), its threaded wasm and the BlazeFace model come from modelhost on 127.0.0.1 in the npm-CDN layout.
import { photo, gradient } from './images.js';

// The middle square of the image (where a portrait's face is) scaled to the model's square input, as NHWC RGB floats
// in [-1, 1]. BlazeFace front is the short-range model: the face must fill a good part of its input.
function toInput(image, width, height, size) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  const side = Math.min(width, height);
  ctx.drawImage(image, (width - side) / 2, (height - side) / 2, side, side, 0, 0, size, size);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const input = new Float32Array(size * size * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    input[j++] = rgba[i] / 127.5 - 1;
    input[j++] = rgba[i + 1] / 127.5 - 1;
    input[j++] = rgba[i + 2] / 127.5 - 1;
  }
  return input;
}

// BlazeFace front gives each anchor a face logit, in outputs shaped [1, anchors, 1] (beside its boxes, [1, anchors,
// 16]): the best face's score is the sigmoid of the largest logit.
function bestFace(outputs) {
  let best = -Infinity, anchors = 0;
  for (const t of Object.values(outputs)) {
    if (t.dims.length !== 3 || t.dims[2] !== 1) continue;
    anchors += t.dims[1];
    for (const v of t.data) best = Math.max(best, v);
  }
  return { score: 1 / (1 + Math.exp(-best)), anchors };
}

window.runOrt = async (server, ortVersion, modelPath, photoUrl) => {
  try {
    const dist = `${server}/npm/onnxruntime-web@${ortVersion}/dist/`;
    const ort = await import(dist + 'ort.wasm.min.mjs');
    ort.env.wasm.wasmPaths = dist;
    ort.env.wasm.numThreads = 2;
    const session = await ort.InferenceSession.create(server + modelPath, { executionProviders: ['wasm'] });
    const [input] = session.inputMetadata;
    const [, height, width, channels] = input.shape;
    if (input.shape.length !== 4 || height !== width || channels !== 3) throw new Error(`input ${input.name} is ${input.shape}, not NHWC RGB`);
    const detect = async (image, w, h) => bestFace(await session.run(
      { [input.name]: new ort.Tensor('float32', toInput(image, w, h, width), input.shape) }));
    const face = await photo(photoUrl);
    const onPhoto = await detect(face, face.naturalWidth, face.naturalHeight);
    const onGradient = await detect(gradient(640, 480), 640, 480);
    return {
      ok: true,
      isolated: self.crossOriginIsolated,
      numThreads: ort.env.wasm.numThreads,
      input: { name: input.name, shape: input.shape },
      outputs: Object.fromEntries(session.outputMetadata.map((o) => [o.name, o.shape])),
      anchors: onPhoto.anchors,
      face: onPhoto.score,
      gradient: onGradient.score,
    };
  } catch (e) {
    return { ok: false, isolated: self.crossOriginIsolated, error: String(e && e.stack || e) };
  }
};
