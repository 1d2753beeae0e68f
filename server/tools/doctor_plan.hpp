// What doctor's rounds share (doctor.cpp, doctor_loaders.cpp): its options, one file's result, and the GET a page
// makes, judged hop by hop. Not part of any API.
#pragma once

#include "tools/diagnosis.hpp"

#include <optional>
#include <string>
#include <vector>

namespace modelhost::tools {

struct Options {
    std::string url;
    std::string loader = "tfjs";   // tfjs, transformers, ort, mediapipe, webllm (--loader, else guess_loader)
    bool guessed = false;          // no --loader: a repo folder is asked which it holds (loader_round)
    BrowserRequest page;
    ClientOptions client;          // --ca-file
    bool json = false;             // one JSON object per file and line
    std::optional<double> every;   // seconds between checks; unset: check once
};

struct FileResult {
    std::string url;   // the URL, and the probe when it is one ("... (Range: bytes=0-0)")
    Verdict verdict;
};

// The GET a page makes for `url_text` (after its preflight, when its headers need one), with `extra` headers,
// through every redirect (the client's rule, except that https to http is followed: the browser may, and each hop
// is judged as the browser judges it; after a hop to another origin, with Origin: null). Returns the last response
// (empty when none arrived).
HttpResponse get_file(const std::string& url_text, const Options& o, Verdict& v, bool want_body, const HeaderPairs& extra = {});

// The loader a URL is for, from its path: model.json tfjs; .onnx ort; .task/.tflite mediapipe; mlc-chat-config.json,
// tensor-cache.json or ndarray-cache.json webllm; config.json or a /resolve/ path transformers; else tfjs.
std::string guess_loader(const std::string& url);
bool known_loader(const std::string& loader);

// The requests `o.loader` (not tfjs) makes, each judged. A guessed "transformers" for a folder that holds
// mlc-chat-config.json is WebLLM's.
std::vector<FileResult> loader_round(const Options& o);

}  // namespace modelhost::tools
