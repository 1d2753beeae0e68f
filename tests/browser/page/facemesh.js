// Runs inside Chromium on http://localhost:<page port>, a cross-origin isolated page. The MediaPipe Face Mesh
// solution comes from modelhost on 127.0.0.1 in the npm-CDN layout: face_mesh.js from here, the rest (its assets
// loader, wasm loader and wasm, graph, packed assets) from its solutionPath. TF.js, face-detection and
// face-landmarks-detection are the app's own libraries, served from this site (lib/, copied there by runtimes.mjs).
import { photo, gradient } from './images.js';

// Adds a classic script and waits until it has run, so that the next one sees what it defined. A cross-origin one
// is asked for with CORS, as face_mesh.js asks for its own.
function script(src, crossOrigin) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    if (crossOrigin) s.crossOrigin = 'anonymous';
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`${src} did not load`));
    document.head.appendChild(s);
  });
}

window.runFacemesh = async (server, faceMeshVersion, libraries, photoUrl) => {
  try {
    const solutionPath = `${server}/npm/@mediapipe/face_mesh@${faceMeshVersion}`;
    // First: the face-landmarks-detection bundle copies the FaceMesh global face_mesh.js defines when it runs.
    await script(`${solutionPath}/face_mesh.js`, true);
    for (const lib of libraries) await script(`lib/${lib}`, false);
    const detector = await faceLandmarksDetection.createDetector(
      faceLandmarksDetection.SupportedModels.MediaPipeFaceMesh,
      { runtime: 'mediapipe', solutionPath, maxFaces: 1, refineLandmarks: false });
    const face = await photo(photoUrl);
    const onPhoto = await detector.estimateFaces(face);
    const onGradient = await detector.estimateFaces(gradient(640, 480));
    detector.dispose();
    // Where the first face's keypoints lie, as fractions of the photo: a mesh fitted to the face, not scattered.
    const points = onPhoto.length ? onPhoto[0].keypoints : [];
    const span = (values, size) => [Math.min(...values) / size, Math.max(...values) / size];
    return {
      ok: true,
      isolated: self.crossOriginIsolated,
      faces: onPhoto.length,
      keypoints: points.length,
      x: points.length ? span(points.map((p) => p.x), face.naturalWidth) : null,
      y: points.length ? span(points.map((p) => p.y), face.naturalHeight) : null,
      gradient: onGradient.length,
    };
  } catch (e) {
    return { ok: false, isolated: self.crossOriginIsolated, error: String(e && e.stack || e) };
  }
};
