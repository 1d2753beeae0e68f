// What the metrics and the status page tell about the catalog, made once per scan by the catalog service, so a
// scrape or a page view reads a few numbers and rows instead of parsing the catalog's JSON again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace modelhost::models {

// One model as the status page lists it.
struct SummaryRow {
    std::string name;    // as in /v1/models
    std::string url;     // the manifest's path, percent-encoded ("/face%20mesh/model.json")
    std::string format;  // "graph-model", "layers-model", "unknown"
    std::uint64_t total_bytes = 0;
    bool ok = true;
    std::vector<std::string> problems;
};

struct CatalogSummary {
    // Rows kept: a page of this many models stays small and fast to render; the rest are counted only.
    static constexpr std::size_t max_rows = 200;

    std::size_t models_ok = 0, models_broken = 0;
    std::uint64_t total_bytes = 0;  // over every model
    std::size_t assets = 0;
    std::vector<SummaryRow> rows;  // the first max_rows models, in the catalog's order

    std::size_t models() const { return models_ok + models_broken; }
};

}  // namespace modelhost::models
