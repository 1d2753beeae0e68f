// config.json -> the transformers.js reader (models/transformers_repo.cpp): any text costs only its own verdict, a
// chunk count never exceeds transformers.js's own bound, and an ONNX file name splits into its model and dtype.
#include "fuzz_check.hpp"
#include "models/transformers_repo.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto cfg = modelhost::models::read_transformers_config(text);
    FUZZ_CHECK(cfg.external_all.value_or(0) <= modelhost::models::max_external_data_chunks);
    for (const auto& [file, chunks] : cfg.external_by_file) FUZZ_CHECK(chunks <= modelhost::models::max_external_data_chunks);
    const std::string name(text.substr(0, 200));
    FUZZ_CHECK(cfg.external_chunks(name, name) <= modelhost::models::max_external_data_chunks);
    if (auto v = modelhost::models::onnx_variant(name)) FUZZ_CHECK(!v->model.empty() && !v->dtype.empty());
    return 0;
}
