// How each format's browser loader is pointed at a model, as /v1/models gives it (`loader`, path-absolute URLs, for
// an app to resolve against the server it asked) and as the status page writes it out (http/status_page.cpp, with
// the request's host): the package, the call, and the URLs and options it takes.
#pragma once

#include "models/catalog.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

namespace modelhost::models {

// A relative path as a URL path: unreserved characters and '/' stay, every other byte is %XX ("face mesh" ->
// "face%20mesh").
std::string percent_encoded(std::string_view path);

// Runtime package name -> the highest version held under npm/ ("onnxruntime-web" -> "1.20.1").
std::map<std::string, std::string> held_runtimes(const Catalog& c);

// The MediaPipe Tasks class for a bundle's name ("mp/face_landmarker" -> "FaceLandmarker"); "ImageClassifier" when
// the name says nothing.
std::string mediapipe_task_class(std::string_view name);

// The runtime folder a loader's wasm comes from, path-absolute ("/npm/onnxruntime-web@1.20.1/dist/"); "" when the
// package is not held.
std::string runtime_path(const std::map<std::string, std::string>& runtimes, const std::string& package, const char* sub);

// `loader` for one model of /v1/models; `folder_url` and `url` are the model's folder ("/org/m/") and first file.
nlohmann::json loader_json(const ModelEntry& m, const std::string& url, const std::string& folder_url,
                           const std::map<std::string, std::string>& runtimes);

}  // namespace modelhost::models
