// Runs inside Chromium on http://localhost:<page port>. MediaPipe Tasks Vision (its ES module bundle, wasm loader and
// wasm) and the PoseLandmarker model come from modelhost on 127.0.0.1 in the npm-CDN layout.
import { photo, gradient } from './images.js';

window.runTasks = async (server, tasksVersion, modelPath, photoUrl) => {
  try {
    const base = `${server}/npm/@mediapipe/tasks-vision@${tasksVersion}`;
    const { FilesetResolver, PoseLandmarker } = await import(`${base}/vision_bundle.mjs`);
    const fileset = await FilesetResolver.forVisionTasks(`${base}/wasm`);
    const landmarker = await PoseLandmarker.createFromOptions(fileset, {
      baseOptions: { modelAssetPath: server + modelPath, delegate: 'CPU' },
      runningMode: 'IMAGE',
      numPoses: 2,  // the photo shows two people
    });
    // The number of landmarks of each pose found.
    const poses = (result) => result.landmarks.map((p) => p.length);
    const onPhoto = landmarker.detect(await photo(photoUrl));
    const onGradient = landmarker.detect(gradient(640, 480));
    landmarker.close();
    return {
      ok: true,
      fileset,
      photo: poses(onPhoto),
      // How many landmarks of each pose the model sees (visibility > 0.5) rather than guesses.
      visible: onPhoto.landmarks.map((p) => p.filter((l) => l.visibility > 0.5).length),
      gradient: poses(onGradient),
    };
  } catch (e) {
    return { ok: false, error: String(e && e.stack || e) };
  }
};
