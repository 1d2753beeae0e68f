// Built from the catalog's JSON per request (the page is for people, not for load).
#include "http/status_page.hpp"

#include <nlohmann/json.hpp>

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

// The loader call for one model, as an app at another origin writes it.
std::string snippet(const std::string& name, const std::string& format, const std::string& url) {
    std::string u = js_string(url);
    std::string s = format == "layers-model" ? "const model = await tf.loadLayersModel('" + u + "');"
                                             : "const model = await tf.loadGraphModel('" + u + "');";
    if (!face_model(name)) return s;
    bool detector = name.find("face_detection") != std::string::npos || name.find("blazeface") != std::string::npos;
    return s + "\n\n// or, with @tensorflow-models/face-landmarks-detection (runtime 'tfjs'):\n"
               "const detector = await faceLandmarksDetection.createDetector(\n"
               "  faceLandmarksDetection.SupportedModels.MediaPipeFaceMesh,\n"
               "  { runtime: 'tfjs', " + std::string(detector ? "detectorModelUrl" : "landmarkModelUrl") + ": '" + u + "' });";
}

std::string model_row(const nlohmann::json& m, const StatusFacts& f) {
    std::string name = m.value("name", ""), format = m.value("format", ""), path = m.value("url", "");
    std::string url = f.base_url + path;
    bool ok = m.value("status", "") == "ok";
    std::string out = "<section><h2>" + html_escape(name) + " <span class=\"" + (ok ? "ok\">ok" : "bad\">broken") +
                      "</span></h2>\n<p>" + html_escape(format) + ", " + std::to_string(m.value("total_bytes", 0ull)) +
                      " bytes &middot; <a href=\"" + html_escape(path) + "\">" + html_escape(url) + "</a></p>\n";
    if (m.contains("problems") && m["problems"].is_array() && !m["problems"].empty()) {
        out += "<ul class=\"problems\">";
        for (const auto& p : m["problems"]) out += "<li>" + html_escape(p.is_string() ? p.get<std::string>() : p.dump()) + "</li>";
        out += "</ul>\n";
    }
    return out + "<pre><code>" + html_escape(snippet(name, format, url)) + "</code></pre></section>\n";
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

std::string status_page(const std::string* catalog_json, const StatusFacts& f) {
    std::string out =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>modelhost</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "pre{background:#f4f4f4;padding:.75rem;overflow-x:auto}h2{font-size:1.1rem;margin-bottom:.25rem}"
        ".ok{color:#1a7f37;font-size:.8rem}.bad{color:#b00;font-size:.8rem}.problems{color:#b00}"
        "</style></head><body>\n<h1>modelhost " + html_escape(f.version) + "</h1>\n";
    auto doc = catalog_json ? nlohmann::json::parse(*catalog_json, nullptr, false) : nlohmann::json();
    if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array()) {
        out += "<p>The model catalog is being built; reload this page in a moment.</p>\n";
    } else if (doc["models"].empty()) {
        out += "<p>No TF.js model here yet. Put each model in its own folder under the served root, or mirror one with "
               "<code>modelhost fetch URL</code>.</p>\n";
    } else {
        out += "<p>" + std::to_string(doc["models"].size()) + " model(s); the same list as JSON: <a href=\"/v1/models\">/v1/models</a>.</p>\n";
        for (const auto& m : doc["models"]) out += model_row(m, f);
    }
    return out + cors_section(f) + "</body></html>\n";
}

}  // namespace modelhost::http
