// Runs inside Chromium on http://localhost:<page port>; every model URL points at modelhost on 127.0.0.1.
'use strict';

function imageLoaded() {
  const img = document.getElementById('face');
  if (img.complete && img.naturalWidth > 0) return Promise.resolve(img);
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('face photo did not load'));
  });
}

// The TF.js runtime: the face detector and face mesh graph models, fetched cross-origin with CORS.
async function runTfjs(models) {
  await tf.setBackend('cpu');
  const detector = await faceLandmarksDetection.createDetector(
    faceLandmarksDetection.SupportedModels.MediaPipeFaceMesh, {
      runtime: 'tfjs',
      maxFaces: 1,
      refineLandmarks: false,
      detectorModelUrl: models + '/face_detection_short/model.json',
      landmarkModelUrl: models + '/face_mesh/model.json',
    });
  const faces = await detector.estimateFaces(await imageLoaded());
  return { faces: faces.length, keypoints: faces.length ? faces[0].keypoints.length : 0 };
}

// The MediaPipe runtime: the solution's .wasm, loader .js, .data and .binarypb come from modelhost (solutionPath).
async function runMediapipe(models) {
  const solutionPath = models + '/mediapipe/face_mesh';
  const detector = await faceLandmarksDetection.createDetector(
    faceLandmarksDetection.SupportedModels.MediaPipeFaceMesh, {
      runtime: 'mediapipe', solutionPath, maxFaces: 1, refineLandmarks: false,
    });
  const faces = await detector.estimateFaces(await imageLoaded());
  return { faces: faces.length, keypoints: faces.length ? faces[0].keypoints.length : 0 };
}

// The project's own demo layers model, loaded the way an app would and run once.
async function runDemo(models) {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(models + '/demo/model.json?v=1');
  const out = model.predict(tf.ones([1, 8]));
  const values = Array.from(await out.data());
  return { outputs: values.length, sum: values.reduce((a, b) => a + b, 0) };
}

window.runCase = async (runtime, models) => {
  try {
    const run = { tfjs: runTfjs, mediapipe: runMediapipe, demo: runDemo }[runtime];
    return { ok: true, ...(await run(models)) };
  } catch (e) {
    return { ok: false, error: String(e && e.message || e) };
  }
};
