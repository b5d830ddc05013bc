// The llamaprof side of tests/chat/compare_templates.py: reads {"now_unix", "templates": {id: source},
// "cases": [{"template", "context"}]} and prints, per case, {"ok": output} or {"error", "kind"}.
// Each template is parsed once, as a model would.
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "llamaprof/chat.h"
#include "llamaprof/error.h"

namespace {

const char* kind_name(lp::ErrorKind k) {
  switch (k) {
    case lp::ErrorKind::FileNotFound: return "FileNotFound";
    case lp::ErrorKind::InvalidFile: return "InvalidFile";
    case lp::ErrorKind::InvalidArgument: return "InvalidArgument";
    case lp::ErrorKind::Unsupported: return "Unsupported";
    case lp::ErrorKind::Runtime: return "Runtime";
  }
  return "Runtime";
}

nlohmann::ordered_json error_json(const lp::Error& e) { return {{"error", e.what()}, {"kind", kind_name(e.kind())}}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: chat_render FIXTURES.json\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "chat_render: cannot open " << argv[1] << "\n";
    return 2;
  }
  nlohmann::ordered_json fixtures = nlohmann::ordered_json::parse(in);
  lp::ChatRenderOptions options;
  options.now_unix = fixtures.value("now_unix", int64_t{-1});

  std::map<std::string, std::optional<lp::ChatTemplate>> parsed;
  std::map<std::string, nlohmann::ordered_json> parse_errors;
  for (auto it = fixtures["templates"].begin(); it != fixtures["templates"].end(); ++it) {
    try {
      parsed[it.key()] = lp::ChatTemplate::parse(it.value().get<std::string>());
    } catch (const lp::Error& e) {
      parse_errors[it.key()] = error_json(e);
    }
  }
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& c : fixtures["cases"]) {
    std::string id = c["template"].get<std::string>();
    if (parse_errors.count(id)) {
      results.push_back(parse_errors[id]);
      continue;
    }
    try {
      results.push_back({{"ok", parsed.at(id)->render(c["context"], options)}});
    } catch (const lp::Error& e) {
      results.push_back(error_json(e));
    }
  }
  // Invalid UTF-8 in an output would be a bug; replace rather than abort so the comparison shows it.
  std::cout << results.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return 0;
}
