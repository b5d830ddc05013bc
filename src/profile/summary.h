// Aggregates of a set of run records: per group (model, front end, threads, cache state) the
// median, min, max and coefficient of variation of each timing; then the comparisons the seed
// asked about: cold against warm load, thread scaling, the Python/C++ front-end gap (as a ratio)
// and the percent of the memory-bandwidth limit reached. Both `profile` (stdout, summary.json)
// and `report` (the page's headline numbers) use this.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

// Keys: groups[], cold_warm[], scaling[], front_end_gap[], bandwidth[], headline{}.
nlohmann::json summarize_runs(const std::vector<nlohmann::json>& records);

// The summary as fixed-width text tables.
std::string summary_text(const nlohmann::json& summary);

}  // namespace lp::profile
