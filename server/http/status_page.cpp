// Built per request from the catalog's summary, a bounded number of rows: cheap enough for an I/O thread.
#include "http/status_page.hpp"

#include "http/endpoint_paths.hpp"
#include "models/catalog.hpp"
#include "models/loaders.hpp"

#include <algorithm>
#include <cctype>

namespace modelhost::http {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

namespace {

// JavaScript string literal content (single quotes), then HTML-escaped by the caller.
std::string js_string(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '\'') out += '\\';
        out += c;
    }
    return out;
}

bool face_model(const std::string& name) {
    for (const char* part : {"face_detection", "face_mesh", "attention_mesh", "blazeface", "facemesh"})
        if (name.find(part) != std::string::npos) return true;
    return false;
}

// The TF.js loader call, as an app at another origin writes it.
std::string tfjs_snippet(const models::SummaryRow& m, const std::string& url) {
    std::string u = js_string(url);
    std::string s = m.variant == "layers-model" ? "const model = await tf.loadLayersModel('" + u + "');"
                                                : "const model = await tf.loadGraphModel('" + u + "');";
    if (!face_model(m.name)) return s;
    bool detector = m.name.find("face_detection") != std::string::npos || m.name.find("blazeface") != std::string::npos;
    return s + "\n\n// or, with @tensorflow-models/face-landmarks-detection (runtime 'tfjs'):\n"
               "const detector = await faceLandmarksDetection.createDetector(\n"
               "  faceLandmarksDetection.SupportedModels.MediaPipeFaceMesh,\n"
               "  { runtime: 'tfjs', " + std::string(detector ? "detectorModelUrl" : "landmarkModelUrl") + ": '" + u + "' });";
}

// A runtime package's folder here ("BASE/npm/onnxruntime-web@1.20.1/"), or a comment saying how to hold one.
std::string runtime_base(const std::string& package, const models::CatalogSummary& c, const StatusFacts& f,
                         std::string& comment) {
    auto it = c.runtimes.find(package);
    if (it != c.runtimes.end()) return f.base_url + "/npm/" + package + "@" + it->second + "/";
    comment = "// no " + package + " under npm/ here yet: modelhost fetch npm:" + package + " --root ROOT\n";
    return "https://cdn.jsdelivr.net/npm/" + package + "/";
}

std::string ort_snippet(const models::SummaryRow& m, const std::string& url, const models::CatalogSummary& c, const StatusFacts& f) {
    std::string comment;
    const std::string dist = runtime_base("onnxruntime-web", c, f, comment) + "dist/";
    std::string options;
    for (const auto& e : m.external)
        options += (options.empty() ? "" : ",\n    ") + ("{ path: '" + js_string(e) + "', data: '" + js_string(f.base_url + m.folder_url + models::percent_encoded(e)) + "' }");
    if (!options.empty()) options = ", {\n  externalData: [\n    " + options + "\n  ]\n}";
    return comment + "import * as ort from 'onnxruntime-web';\nort.env.wasm.wasmPaths = '" + js_string(dist) +
           "';\nconst session = await ort.InferenceSession.create('" + js_string(url) + "'" + options + ");";
}

std::size_t segments(std::string_view name) { return static_cast<std::size_t>(std::count(name.begin(), name.end(), '/')) + 1; }

std::string transformers_snippet(const models::SummaryRow& m, const models::CatalogSummary& c, const StatusFacts& f) {
    std::string comment;
    const std::string dist = runtime_base("onnxruntime-web", c, f, comment) + "dist/";
    // The hub's layout (/{model}/resolve/{revision}/) answers one- and two-segment names; deeper folders as files.
    const bool layout = segments(m.name) <= 2 && m.name != ".";
    std::string dtype;
    for (const char* d : {"q8", "fp32", "fp16", "q4", "q4f16"})
        if (dtype.empty() && std::find(m.dtypes.begin(), m.dtypes.end(), d) != m.dtypes.end()) dtype = d;
    if (dtype.empty() && !m.dtypes.empty()) dtype = m.dtypes.front();
    return "import { env, pipeline } from '@huggingface/transformers';\nenv.remoteHost = '" + js_string(f.base_url) + "/';\n" +
           (layout ? "" : "env.remotePathTemplate = '{model}/';\n") + "env.allowLocalModels = false;\n" + comment +
           "env.backends.onnx.wasm.wasmPaths = '" + js_string(dist) + "';\n" +
           "const pipe = await pipeline('feature-extraction', '" + js_string(m.name) + "'" +
           (dtype.empty() ? "" : ", { dtype: '" + dtype + "' }") + ");  // the task your app runs";
}

std::string mediapipe_snippet(const models::SummaryRow& m, const std::string& url, const models::CatalogSummary& c, const StatusFacts& f) {
    std::string comment;
    const std::string wasm = runtime_base("@mediapipe/tasks-vision", c, f, comment) + "wasm";
    const std::string cls = models::mediapipe_task_class(m.name);
    return comment + "import { FilesetResolver, " + cls + " } from '@mediapipe/tasks-vision';\n" +
           "const vision = await FilesetResolver.forVisionTasks('" + js_string(wasm) + "');\n" + "const task = await " + cls +
           ".createFromOptions(vision, { baseOptions: { modelAssetPath: '" + js_string(url) + "' } });";
}

std::string webllm_snippet(const models::SummaryRow& m, const StatusFacts& f) {
    const std::string id = js_string(m.name);
    const bool layout = segments(m.name) <= 2 && m.name != ".";
    return std::string(layout ? "" : "// WebLLM fetches {model}/resolve/main/: keep this folder one or two levels under the root\n") +
           "import { CreateMLCEngine } from '@mlc-ai/web-llm';\nconst appConfig = { model_list: [{\n  model: '" +
           js_string(f.base_url + m.folder_url) + "resolve/main/',\n  model_id: '" + id +
           "',\n  model_lib: 'URL of its model library (.wasm)',\n}] };\nconst engine = await CreateMLCEngine('" + id +
           "', { appConfig });";
}

// The loader call for one model, as an app at another origin writes it.
std::string snippet(const models::SummaryRow& m, const std::string& url, const models::CatalogSummary& c, const StatusFacts& f) {
    if (m.format == models::format::onnx) return ort_snippet(m, url, c, f);
    if (m.format == models::format::transformers) return transformers_snippet(m, c, f);
    if (m.format == models::format::mediapipe || m.format == models::format::tflite) return mediapipe_snippet(m, url, c, f);
    if (m.format == models::format::webllm) return webllm_snippet(m, f);
    return tfjs_snippet(m, url);
}

std::string model_row(const models::SummaryRow& m, const models::CatalogSummary& c, const StatusFacts& f) {
    std::string url = f.base_url + m.url;
    std::string kind = m.format + (m.variant.empty() ? "" : " (" + m.variant + ")");
    if (!m.dtypes.empty()) {
        kind += ", dtypes";
        for (const auto& d : m.dtypes) kind += " " + d;
    }
    std::string out = "<section><h2>" + html_escape(m.name) + " <span class=\"" + (m.ok ? "ok\">ok" : "bad\">broken") +
                      "</span></h2>\n<p>" + html_escape(kind) + ", " + std::to_string(m.total_bytes) +
                      " bytes &middot; <a href=\"" + html_escape(m.url) + "\">" + html_escape(url) + "</a></p>\n";
    if (!m.problems.empty()) {
        out += "<ul class=\"problems\">";
        for (const auto& p : m.problems) out += "<li>" + html_escape(p) + "</li>";
        out += "</ul>\n";
    }
    return out + "<pre><code>" + html_escape(snippet(m, url, c, f)) + "</code></pre></section>\n";
}

// The models section: a note while there is no catalog or no model, else the count and the rows kept.
std::string models_section(const models::CatalogSummary* c, const StatusFacts& f) {
    if (!c) return "<p>The model catalog is being built; reload this page in a moment.</p>\n";
    if (c->models() == 0)
        return "<p>No model here yet. Put each model in its own folder under the served root, or mirror one with "
               "<code>modelhost fetch URL</code>.</p>\n";
    const std::string json_link = "<a href=\"" + std::string(models_path) + "\">" + std::string(models_path) + "</a>";
    std::string out = "<p>" + std::to_string(c->models()) + " model(s); the same list as JSON: " + json_link + ".</p>\n";
    for (const auto& m : c->rows) out += model_row(m, *c, f);
    if (c->models() > c->rows.size())
        out += "<p>And " + std::to_string(c->models() - c->rows.size()) + " more model(s), not shown here; every model is in " +
               json_link + ".</p>\n";
    return out;
}

std::string cors_section(const StatusFacts& f) {
    std::string origins;
    for (const auto& o : f.allow_origins) origins += (origins.empty() ? "" : ", ") + ("<code>" + html_escape(o) + "</code>");
    if (origins.empty()) origins = "none (CORS off)";
    return "<section><h2>CORS</h2><p>Pages at these origins may load the models: " + origins + ". Credentials: " +
           (f.credentials ? "allowed" : "not sent") + ". Routes with their own policy: " + std::to_string(f.routes) +
           ". Check what a browser sees: <code>modelhost doctor " + html_escape(f.base_url) +
           "/NAME/model.json --origin https://your.app</code></p></section>\n";
}

}  // namespace

std::string status_page(const models::CatalogSummary* catalog, const StatusFacts& f) {
    std::string out =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>modelhost</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "pre{background:#f4f4f4;padding:.75rem;overflow-x:auto}h2{font-size:1.1rem;margin-bottom:.25rem}"
        ".ok{color:#1a7f37;font-size:.8rem}.bad{color:#b00;font-size:.8rem}.problems{color:#b00}"
        "</style></head><body>\n<h1>modelhost " + html_escape(f.version) + "</h1>\n";
    return out + models_section(catalog, f) + cors_section(f) + "</body></html>\n";
}

}  // namespace modelhost::http
