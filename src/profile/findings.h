// Findings: the profile's conclusions as sentences, each with the numbers behind it, for the
// summary (text and summary.json) and the HTML report. Computed from the summary's comparisons
// and the completed runs: which engine is faster and by how much (with the ratio's 95% CI), an
// engine build without this CPU's vector instructions, threads burning CPU for little speedup,
// decode at the memory-bandwidth limit, a cold load against `dd` reading the evicted file, the
// Python front ends' overhead per token, a server's first-token and inter-token latency, failed,
// disturbed and short runs.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace lp::profile {

// [{kind, text, ...numbers}] in a fixed order of kinds.
nlohmann::json findings(const nlohmann::json& summary, const std::vector<const nlohmann::json*>& runs);

}  // namespace lp::profile
