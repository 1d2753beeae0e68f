// The calls are the loaders' own: tf.loadGraphModel / tf.loadLayersModel (@tensorflow/tfjs), ort.InferenceSession
// .create with externalData (onnxruntime-web), pipeline with env.remoteHost (@huggingface/transformers, which asks
// {model}/resolve/{revision}/), <Task>.createFromOptions with baseOptions.modelAssetPath (@mediapipe/tasks-vision),
// CreateMLCEngine with appConfig.model_list (@mlc-ai/web-llm, which asks {model}/resolve/main/).
#include "models/loaders.hpp"

#include "models/npm_package.hpp"

#include <algorithm>
#include <cctype>

namespace modelhost::models {

namespace {

using json = nlohmann::json;

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

std::string percent_encoded(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') out += static_cast<char>(c);
        else out += {'%', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

std::map<std::string, std::string> held_runtimes(const Catalog& c) {
    std::map<std::string, std::string> out;
    for (const auto& r : c.runtimes) {
        auto& held = out[r.name];
        auto a = parse_semver(r.version), b = parse_semver(held);
        if (held.empty() || (a && (!b || compare(*a, *b) > 0))) held = r.version;
    }
    return out;
}

std::string mediapipe_task_class(std::string_view name) {
    for (const char* c : {"face_detector", "face_landmarker", "hand_landmarker", "gesture_recognizer", "image_classifier",
                          "image_embedder", "image_segmenter", "interactive_segmenter", "object_detector", "pose_landmarker",
                          "holistic_landmarker"}) {
        if (name.find(c) == std::string_view::npos) continue;
        std::string out;
        bool up = true;
        for (const char* p = c; *p; ++p) {
            if (*p == '_') up = true;
            else out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(*p))) : *p, up = false;
        }
        return out;
    }
    return "ImageClassifier";
}

std::string runtime_path(const std::map<std::string, std::string>& runtimes, const std::string& package, const char* sub) {
    auto it = runtimes.find(package);
    return it == runtimes.end() ? "" : "/npm/" + package + "@" + it->second + "/" + sub;
}

json loader_json(const ModelEntry& m, const std::string& url, const std::string& folder_url,
                 const std::map<std::string, std::string>& runtimes) {
    if (m.format == format::onnx) {
        auto external = json::array();
        for (const auto& e : m.external) external.push_back({{"path", e}, {"url", folder_url + percent_encoded(e)}});
        return {{"package", "onnxruntime-web"}, {"call", "ort.InferenceSession.create"}, {"url", url},
                {"external_data", external}, {"wasm_paths", or_null(runtime_path(runtimes, "onnxruntime-web", "dist/"))}};
    }
    if (m.format == format::transformers) {
        const bool layout = std::count(m.name.begin(), m.name.end(), '/') <= 1 && m.name != ".";
        return {{"package", "@huggingface/transformers"}, {"call", "pipeline"}, {"model", m.name}, {"remote_host", "/"},
                {"remote_path_template", layout ? "{model}/resolve/{revision}/" : "{model}/"}, {"dtypes", m.dtypes},
                {"wasm_paths", or_null(runtime_path(runtimes, "onnxruntime-web", "dist/"))}};
    }
    if (m.format == format::mediapipe || m.format == format::tflite)
        return {{"package", "@mediapipe/tasks-vision"}, {"call", mediapipe_task_class(m.name) + ".createFromOptions"},
                {"model_asset_path", url}, {"wasm", or_null(runtime_path(runtimes, "@mediapipe/tasks-vision", "wasm"))}};
    if (m.format == format::webllm)
        return {{"package", "@mlc-ai/web-llm"}, {"call", "CreateMLCEngine"}, {"model", folder_url + "resolve/main/"},
                {"model_id", m.name}};
    return {{"package", "@tensorflow/tfjs"}, {"call", m.variant == "layers-model" ? "tf.loadLayersModel" : "tf.loadGraphModel"},
            {"url", url}};
}

}  // namespace modelhost::models
