#!/usr/bin/python3
"""Writes test roots of every browser model format into DIR (argv[1]), made here, none over 1 MB:

  DIR/good/    one sound model of each format: TF.js (model.json + shard), ONNX with external data
               (face/model.onnx + model.onnx_data, saved by onnx's own external-data writer), a transformers.js
               folder (acme/tiny: config.json, tokenizer files, onnx/model.onnx + onnx/model_quantized.onnx, the
               first with the external-data chunk config.json declares), a MediaPipe .task (a zip of stored TFLite
               entries), a bare .tflite, a WebLLM folder (llm/: mlc-chat-config.json, ndarray-cache.json only, 3
               params shards, tokenizer.json);
  DIR/broken/  each of them broken the way hosts break them: a model.json cut to 40 bytes, an .onnx cut short,
               an .onnx whose .onnx_data is missing, one whose external data is shorter than declared, negative and
               wrong offsets, a protobuf declaring a huge length, a .task whose .tflite entry is not TFLite, a .task
               with a "../" entry, a zip bomb (a deflated entry of 64 MB of zeros), an HTML page saved as a .task,
               a WebLLM folder missing a shard, a transformers.js folder missing its declared chunk.

Run with Debian's python3 (python3-onnx); zips with the standard library."""
import json
import os
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def onnx_model(weights):
    """y = x + w for each weight, as an opset-17 model; weights: list of (name, numpy array)."""
    nodes, inits = [], []
    prev = "x"
    for i, (name, array) in enumerate(weights):
        inits.append(numpy_helper.from_array(array, name))
        out = "y" if i == len(weights) - 1 else f"t{i}"
        nodes.append(helper.make_node("Add", [prev, name], [out]))
        prev = out
    shape = list(weights[0][1].shape)
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_formats")


def save_external(model, path, location):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                    size_threshold=0)


def weights(n=2, size=1024):
    return [(f"w{i}", np.full((size,), i + 1, dtype=np.float32)) for i in range(n)]


def tflite(tag=b"TFL3", size=256):
    return struct.pack("<I", 28) + tag + bytes(size - 8)


def task(path, entries, method=zipfile.ZIP_STORED):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)


def webllm(folder, shards=3, size=4096, cache="ndarray-cache.json"):
    records = []
    for i in range(shards):
        name = f"params_shard_{i}.bin"
        write(os.path.join(folder, name), bytes([i]) * size)
        records.append({"dataPath": name, "format": "raw-shard", "nbytes": size,
                        "records": [{"name": f"p{i}", "shape": [size // 4], "dtype": "float32", "format": "raw",
                                     "byteOffset": 0, "nbytes": size}]})
    write(os.path.join(folder, cache), json.dumps({"metadata": {"ParamSize": shards}, "records": records}))
    write(os.path.join(folder, "mlc-chat-config.json"),
          json.dumps({"model_type": "llama", "tokenizer_files": ["tokenizer.json"], "conv_template": "llama-3"}))
    write(os.path.join(folder, "tokenizer.json"), json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {}}}))


def transformers(folder, chunks=1, with_chunk=True):
    write(os.path.join(folder, "config.json"), json.dumps({
        "model_type": "bert", "architectures": ["BertModel"],
        "transformers.js_config": {"use_external_data_format": {"model.onnx": chunks}}}))
    write(os.path.join(folder, "tokenizer.json"), json.dumps({"version": "1.0", "model": {"type": "WordPiece", "vocab": {}}}))
    write(os.path.join(folder, "tokenizer_config.json"), json.dumps({"tokenizer_class": "BertTokenizer"}))
    save_external(onnx_model(weights()), os.path.join(folder, "onnx", "model.onnx"), "model.onnx_data")
    if not with_chunk:
        os.remove(os.path.join(folder, "onnx", "model.onnx_data"))
    onnx.save_model(onnx_model(weights(1, 16)), os.path.join(folder, "onnx", "model_quantized.onnx"))


def tfjs(folder, cut=None):
    manifest = json.dumps({"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": [
        {"paths": ["group1-shard1of1.bin"], "weights": [{"name": "k", "shape": [4], "dtype": "float32"}]}]})
    write(os.path.join(folder, "model.json"), manifest[:cut] if cut else manifest)
    write(os.path.join(folder, "group1-shard1of1.bin"), bytes(16))


def with_external_entry(path, key, value):
    """Rewrites every external tensor's `key` entry of the model at `path` to `value`."""
    m = onnx.load_model(path, load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == key:
                e.value = value
        if key not in [e.key for e in t.external_data]:
            t.external_data.add(key=key, value=value)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def good(root):
    tfjs(os.path.join(root, "blazeface"))
    save_external(onnx_model(weights()), os.path.join(root, "face", "model.onnx"), "model.onnx_data")
    transformers(os.path.join(root, "acme", "tiny"))
    task(os.path.join(root, "mp", "face_landmarker.task"),
         [("face_detector.tflite", tflite()), ("face_landmarks_detector.tflite", tflite()),
          ("geometry_pipeline_metadata_landmarks.binarypb", b"\x0a\x00")])
    write(os.path.join(root, "mp", "selfie_segmenter.tflite"), tflite())
    webllm(os.path.join(root, "llm"))


def broken(root):
    tfjs(os.path.join(root, "cut-json"), cut=40)
    save_external(onnx_model(weights()), os.path.join(root, "cut-onnx", "model.onnx"), "model.onnx_data")
    with open(os.path.join(root, "cut-onnx", "model.onnx"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) // 2)
    save_external(onnx_model(weights()), os.path.join(root, "no-data", "model.onnx"), "model.onnx_data")
    os.remove(os.path.join(root, "no-data", "model.onnx_data"))
    save_external(onnx_model(weights()), os.path.join(root, "short-data", "model.onnx"), "model.onnx_data")
    with open(os.path.join(root, "short-data", "model.onnx_data"), "r+b") as f:
        f.truncate(100)
    save_external(onnx_model(weights()), os.path.join(root, "negative", "model.onnx"), "model.onnx_data")
    with_external_entry(os.path.join(root, "negative", "model.onnx"), "length", "-4096")
    save_external(onnx_model(weights()), os.path.join(root, "far-offset", "model.onnx"), "model.onnx_data")
    with_external_entry(os.path.join(root, "far-offset", "model.onnx"), "offset", "1099511627776")
    save_external(onnx_model(weights()), os.path.join(root, "escape", "model.onnx"), "model.onnx_data")
    with_external_entry(os.path.join(root, "escape", "model.onnx"), "location", "../../etc/passwd")
    # ModelProto field 7 (graph), length-delimited, declaring 2 GB in a 16-byte file.
    write(os.path.join(root, "huge-length", "model.onnx"), b"\x08\x08\x3a\xff\xff\xff\xff\x07" + bytes(8))
    task(os.path.join(root, "mp", "not_tflite.task"), [("face_detector.tflite", b"<!doctype html><html>" + bytes(64))])
    task(os.path.join(root, "mp", "escape.task"), [("../evil.tflite", tflite())])
    task(os.path.join(root, "mp", "bomb.task"), [("hand_detector.tflite", tflite(size=64 << 20))], zipfile.ZIP_DEFLATED)
    write(os.path.join(root, "mp", "spa.task"), "<!doctype html><html><body>app</body></html>\n")
    write(os.path.join(root, "mp", "cut.tflite"), tflite()[:6])
    webllm(os.path.join(root, "llm"), cache="tensor-cache.json")
    os.remove(os.path.join(root, "llm", "params_shard_1.bin"))
    transformers(os.path.join(root, "acme", "nochunk"), with_chunk=False)


if __name__ == "__main__":
    good(os.path.join(sys.argv[1], "good"))
    broken(os.path.join(sys.argv[1], "broken"))
