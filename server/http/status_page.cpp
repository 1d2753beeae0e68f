// Built per request from the catalog's summary, a bounded number of rows: cheap enough for an I/O thread.
#include "http/status_page.hpp"

#include "http/endpoint_paths.hpp"

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

std::string model_row(const models::SummaryRow& m, const StatusFacts& f) {
    std::string url = f.base_url + m.url;
    std::string out = "<section><h2>" + html_escape(m.name) + " <span class=\"" + (m.ok ? "ok\">ok" : "bad\">broken") +
                      "</span></h2>\n<p>" + html_escape(m.format) + ", " + std::to_string(m.total_bytes) +
                      " bytes &middot; <a href=\"" + html_escape(m.url) + "\">" + html_escape(url) + "</a></p>\n";
    if (!m.problems.empty()) {
        out += "<ul class=\"problems\">";
        for (const auto& p : m.problems) out += "<li>" + html_escape(p) + "</li>";
        out += "</ul>\n";
    }
    return out + "<pre><code>" + html_escape(snippet(m.name, m.format, url)) + "</code></pre></section>\n";
}

// The models section: a note while there is no catalog or no model, else the count and the rows kept.
std::string models_section(const models::CatalogSummary* c, const StatusFacts& f) {
    if (!c) return "<p>The model catalog is being built; reload this page in a moment.</p>\n";
    if (c->models() == 0)
        return "<p>No TF.js model here yet. Put each model in its own folder under the served root, or mirror one with "
               "<code>modelhost fetch URL</code>.</p>\n";
    const std::string json_link = "<a href=\"" + std::string(models_path) + "\">" + std::string(models_path) + "</a>";
    std::string out = "<p>" + std::to_string(c->models()) + " model(s); the same list as JSON: " + json_link + ".</p>\n";
    for (const auto& m : c->rows) out += model_row(m, f);
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
