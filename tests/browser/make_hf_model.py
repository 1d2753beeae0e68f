#!/usr/bin/python3
"""Writes a tiny transformers.js feature-extraction model in the Hugging Face layout into DIR (argv[1]); with
--webllm DIR, a folder shaped like a WebLLM model instead (mlc-chat-config.json, tensor-cache.json, params shards).

A BERT-shaped folder: config.json, tokenizer_config.json, a WordPiece tokenizer.json of VOCAB tokens (several MB, so
a loader's progress over it is worth checking), and onnx/model_quantized.onnx (the file transformers.js fetches on the
wasm device): last_hidden_state = embedding[input_ids] * attention_mask. Each token's vector is (id, id+1, id+2, id+3)
/ VOCAB, so a page can check the numbers it gets. Run with Debian's python3 (python3-onnx)."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = 340000
HIDDEN = 4


def main(out):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world"]
    vocab = {t: i for i, t in enumerate(special)}
    for i in range(len(special), VOCAB):
        vocab[f"tok{i}"] = i
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in enumerate(special[:4])],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "sep_token": "[SEP]", "model_max_length": 512, "do_lower_case": True}, f)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": HIDDEN,
                   "vocab_size": VOCAB}, f)

    ids = np.arange(VOCAB, dtype=np.float32)[:, None]
    table = (ids + np.arange(HIDDEN, dtype=np.float32)[None, :]) / VOCAB
    graph = helper.make_graph(
        [helper.make_node("Gather", ["embedding", "input_ids"], ["vectors"], axis=0),
         helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["mask", "last_axis"], ["mask3"]),
         helper.make_node("Mul", ["vectors", "mask3"], ["last_hidden_state"])],
        "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
        [numpy_helper.from_array(table.astype(np.float32), "embedding"),
         numpy_helper.from_array(np.array([-1], dtype=np.int64), "last_axis")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="modelhost-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "onnx", "model_quantized.onnx"))


def webllm(out):
    """The files WebLLM stores with Cache.add: its config, the tensor cache naming the shards, and the shards."""
    os.makedirs(out, exist_ok=True)
    shards = [("params_shard_0.bin", 3 << 20), ("params_shard_1.bin", 1 << 20)]
    records = []
    for i, (name, size) in enumerate(shards):
        data = bytes((j * 7 + i) & 0xFF for j in range(256)) * (size // 256)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        records.append({"dataPath": name, "format": "raw-shard", "nbytes": size,
                        "records": [{"name": f"param_{i}", "shape": [size // 4], "dtype": "float32",
                                     "format": "f32-to-bf16", "nbytes": size, "byteOffset": 0}]})
    with open(os.path.join(out, "tensor-cache.json"), "w") as f:
        json.dump({"metadata": {"ParamSize": len(shards), "ParamBytes": sum(s for _, s in shards)},
                   "records": records}, f)
    with open(os.path.join(out, "mlc-chat-config.json"), "w") as f:
        json.dump({"model_type": "llama", "context_window_size": 512, "conv_template": {"name": "test"},
                   "tokenizer_files": []}, f)


if __name__ == "__main__":
    if sys.argv[1] == "--webllm":
        webllm(sys.argv[2])
    else:
        main(sys.argv[1])
