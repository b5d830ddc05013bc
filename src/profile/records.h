// Run records on disk and on screen: JSONL (one record per line, nested as the worker wrote it),
// CSV (nested keys flattened with '.'), and the seed's per-run text block.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

void write_jsonl(const std::string& path, const std::vector<nlohmann::json>& records);
// Throws lp::Error(FileNotFound) / lp::Error(InvalidFile) naming the path and line.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// Columns: every flattened key, in order of first appearance across the records.
void write_csv(const std::string& path, const std::vector<nlohmann::json>& records);

// "### MODEL_NUM: 1 | ITER: 1 ###" followed by the seed's fields (time_load, time_infer,
// time_script, comp_tokens, N_THREADS, MAX_TOKENS, model_fn, output) and the new ones.
std::string run_block(const nlohmann::json& record);

}  // namespace lp::profile
