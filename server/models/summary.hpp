// What the metrics and the status page tell about the catalog, made once per scan by the catalog service, so a
// scrape or a page view reads a few numbers and rows instead of parsing the catalog's JSON again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace modelhost::models {

// One model as the status page lists it.
struct SummaryRow {
    std::string name;    // as in /v1/models
    std::string url;     // the first file's path, percent-encoded ("/face%20mesh/model.json")
    std::string folder_url;  // the model's folder, percent-encoded, with a trailing '/' ("/org/bert/", "/" for the root)
    std::string format;  // catalog.hpp's format::all
    std::string variant; // "graph-model", "opset 17", "bert", ...
    std::vector<std::string> dtypes;    // transformers.js
    std::vector<std::string> external;  // ONNX: external-data files beside the .onnx
    std::uint64_t total_bytes = 0;
    bool ok = true;
    std::vector<std::string> problems;
};

struct CatalogSummary {
    // Rows kept: a page of this many models stays small and fast to render; the rest are counted only.
    static constexpr std::size_t max_rows = 200;

    std::size_t models_ok = 0, models_broken = 0;
    std::map<std::string, std::pair<std::size_t, std::size_t>> by_format;  // format -> (ok, broken), every format listed
    std::uint64_t total_bytes = 0;  // over every model
    std::size_t assets = 0;
    std::map<std::string, std::string> runtimes;  // runtime package name -> its highest version held (npm/)
    std::vector<SummaryRow> rows;  // the first max_rows models, in the catalog's order

    std::size_t models() const { return models_ok + models_broken; }
};

}  // namespace modelhost::models
