// json_schema_to_gbnf: one rule per schema node (named by its path), shared primitive rules.
#include "sampling/json_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "llamaprof/error.h"

namespace lp {

namespace {

using json = nlohmann::ordered_json;

// The primitive rules, each with the rules it uses.
struct Primitive {
  const char* body;
  std::vector<const char*> deps;
};

const std::map<std::string, Primitive>& primitives() {
  static const std::map<std::string, Primitive> p = {
      {"space", {R"(| " " | "\n" [ \t]{0,20})", {}}},
      {"boolean", {R"(("true" | "false") space)", {"space"}}},
      {"null", {R"("null" space)", {"space"}}},
      {"char", {R"([^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))", {}}},
      {"string", {R"("\"" char* "\"" space)", {"char", "space"}}},
      {"integral-part", {R"([0] | [1-9] [0-9]{0,15})", {}}},
      {"decimal-part", {R"([0-9]{1,16})", {}}},
      {"integer", {R"(("-"? integral-part) space)", {"integral-part", "space"}}},
      {"number", {R"(("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space)",
                  {"integral-part", "decimal-part", "space"}}},
      {"value", {R"(object | array | string | number | boolean | null)",
                 {"object", "array", "string", "number", "boolean", "null"}}},
      {"object", {R"("{" space ( string ":" space value ("," space string ":" space value)* )? "}" space)",
                  {"string", "value", "space"}}},
      {"array", {R"("[" space ( value ("," space value)* )? "]" space)", {"value", "space"}}},
      {"date", {R"([0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] ))", {}}},
      {"time", {R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))", {}}},
      {"date-time", {R"(date "T" time)", {"date", "time"}}},
      {"uuid", {R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})", {}}},
      {"date-string", {R"("\"" date "\"" space)", {"date", "space"}}},
      {"time-string", {R"("\"" time "\"" space)", {"time", "space"}}},
      {"date-time-string", {R"("\"" date-time "\"" space)", {"date-time", "space"}}},
      {"uuid-string", {R"("\"" uuid "\"" space)", {"uuid", "space"}}},
  };
  return p;
}

// Keywords that only annotate: nothing to honour.
const std::set<std::string>& annotations() {
  static const std::set<std::string> s = {"$schema", "$id", "id", "$comment", "title", "description", "default",
                                          "examples", "readOnly", "writeOnly", "deprecated", "$anchor",
                                          "contentMediaType", "contentEncoding", "nullable", "discriminator"};
  return s;
}

// Keywords that constrain in ways this converter cannot express: an error, never ignored.
const std::set<std::string>& unsupported_keywords() {
  static const std::set<std::string> s = {
      "not", "if", "then", "else", "multipleOf", "uniqueItems", "contains", "minContains", "maxContains",
      "patternProperties", "propertyNames", "minProperties", "maxProperties", "dependentRequired",
      "dependentSchemas", "dependencies", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef",
      "$recursiveRef", "additionalItems"};
  return s;
}

// Keywords this converter reads (per kind of node it builds).
const std::set<std::string>& known_keywords() {
  static const std::set<std::string> s = {
      "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems",
      "minItems", "maxItems", "minLength", "maxLength", "format", "pattern", "minimum", "maximum",
      "exclusiveMinimum", "exclusiveMaximum", "$ref", "$defs", "definitions", "anyOf", "oneOf", "allOf"};
  return s;
}

// A GBNF string literal for text (UTF-8).
std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789ABCDEF";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The JSON text of a value (no extra spaces), as a GBNF literal.
std::string json_literal(const json& v) { return gbnf_literal(v.dump(-1, ' ', false)); }

// A GBNF repetition suffix for lo..hi (unbounded without hi).
std::string repeat_suffix(uint64_t lo, bool bounded, uint64_t hi) {
  if (bounded && hi == lo) return lo == 1 ? "" : "{" + std::to_string(lo) + "}";
  if (!bounded) return lo == 0 ? "*" : lo == 1 ? "+" : "{" + std::to_string(lo) + ",}";
  if (lo == 0 && hi == 1) return "?";
  return "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
}

// Decimal integers with the same number of digits in [a, b] (a <= b, as digit strings).
std::string digits_range(const std::string& a, const std::string& b) {
  if (a.empty()) return "";
  if (a == b) return gbnf_literal(a);
  size_t i = 0;
  while (a[i] == b[i]) ++i;
  const std::string prefix = i ? gbnf_literal(a.substr(0, i)) + " " : "";
  const char a0 = a[i], b0 = b[i];
  const std::string ra = a.substr(i + 1), rb = b.substr(i + 1);
  const size_t n = ra.size();
  const bool lo_full = ra.find_first_not_of('0') == std::string::npos;
  const bool hi_full = rb.find_first_not_of('9') == std::string::npos;
  const std::string any_n = n ? " [0-9]" + repeat_suffix(n, true, n) : "";
  std::vector<std::string> alts;
  if (!lo_full) alts.push_back(std::string("\"") + a0 + "\" " + digits_range(ra, std::string(n, '9')));
  const char mid_lo = lo_full ? a0 : char(a0 + 1), mid_hi = hi_full ? b0 : char(b0 - 1);
  if (mid_lo <= mid_hi) {
    alts.push_back((mid_lo == mid_hi ? std::string("[") + mid_lo + "]" : std::string("[") + mid_lo + "-" + mid_hi + "]") + any_n);
  }
  if (!hi_full) alts.push_back(std::string("\"") + b0 + "\" " + digits_range(std::string(n, '0'), rb));
  std::string body;
  for (size_t k = 0; k < alts.size(); ++k) body += (k ? " | " : "") + alts[k];
  return prefix + "(" + body + ")";
}

uint64_t pow10(size_t d) {
  uint64_t v = 1;
  while (d--) v *= 10;
  return v;
}

// Decimal integers without leading zeros in [lo, hi].
std::string nonneg_range(uint64_t lo, uint64_t hi) {
  std::vector<std::string> alts;
  const size_t dlo = std::to_string(lo).size(), dhi = std::to_string(hi).size();
  for (size_t d = dlo; d <= dhi; ++d) {
    const uint64_t L = std::max(lo, d == 1 ? 0 : pow10(d - 1));
    const uint64_t H = std::min(hi, pow10(d) - 1);
    if (L <= H) alts.push_back(digits_range(std::to_string(L), std::to_string(H)));
  }
  std::string body;
  for (size_t k = 0; k < alts.size(); ++k) body += (k ? " | " : "") + alts[k];
  return "(" + body + ")";
}

constexpr size_t kMaxDigits = 16;  // as the primitive integral-part

// Decimal integers >= lo without leading zeros (at most kMaxDigits digits).
std::string nonneg_at_least(uint64_t lo) {
  const size_t d = std::to_string(lo).size();
  std::string s = nonneg_range(lo, pow10(d) - 1);
  if (d < kMaxDigits) s = "(" + s + " | [1-9] [0-9]" + repeat_suffix(d, true, kMaxDigits - 1) + ")";
  return s;
}

class Converter {
 public:
  explicit Converter(const json& root) : root_(root) {}

  JsonSchemaGrammar run() {
    const std::string top = visit(root_, "root", "#");
    if (top != "root") rules_["root"] = top;
    JsonSchemaGrammar out;
    out.gbnf = "root ::= " + rules_.at("root") + "\n";
    for (const auto& [name, body] : rules_) {
      if (name != "root") out.gbnf += name + " ::= " + body + "\n";
    }
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  const json& root_;
  std::map<std::string, std::string> rules_;
  std::map<std::string, std::string> ref_rules_;  // $ref -> its rule
  std::vector<std::string> warnings_;

  [[noreturn]] static void bad(const std::string& path, const std::string& what) {
    throw Error(ErrorKind::InvalidArgument, "JSON schema at " + path + ": " + what);
  }
  [[noreturn]] static void unsupported(const std::string& path, const std::string& what) {
    throw Error(ErrorKind::Unsupported, "JSON schema at " + path + ": " + what + " is not supported");
  }

  static std::string sanitize(const std::string& name) {
    std::string s;
    for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
    return s.empty() ? "r" : s;
  }

  // Adds `name ::= body` (a fresh name if taken by another body); returns the name used.
  std::string add_rule(const std::string& want, const std::string& body) {
    const std::string base = sanitize(want);
    std::string name = base;
    for (int i = 1;; ++i) {
      auto it = rules_.find(name);
      if (it == rules_.end()) {
        rules_[name] = body;
        return name;
      }
      if (it->second == body) return name;
      name = base + std::to_string(i);
    }
  }

  std::string primitive(const std::string& name) {
    const Primitive& p = primitives().at(name);
    if (!rules_.count(name)) {
      rules_[name] = p.body;
      for (const char* d : p.deps) primitive(d);
    }
    return name;
  }

  void check_keywords(const json& s, const std::string& path) {
    for (const auto& [k, v] : s.items()) {
      if (unsupported_keywords().count(k)) {
        if (k == "uniqueItems" && v == false) continue;
        if (k == "additionalItems" && v == true) continue;
        unsupported(path, "keyword '" + k + "'");
      }
      if (!known_keywords().count(k) && !annotations().count(k)) {
        warnings_.push_back("JSON schema at " + path + ": keyword '" + k + "' is not supported (ignored)");
      }
    }
  }

  const json& resolve(const std::string& ref, const std::string& path) {
    if (ref.empty() || ref[0] != '#') unsupported(path, "$ref '" + ref + "' (only references into the same document, '#...')");
    try {
      const std::string pointer = ref.substr(1);
      return pointer.empty() ? root_ : root_.at(json::json_pointer(pointer));
    } catch (const json::exception&) {
      bad(path, "$ref '" + ref + "' points nowhere in the schema");
    }
  }

  static std::string ref_name(const std::string& ref) {
    const size_t slash = ref.rfind('/');
    const std::string last = slash == std::string::npos ? ref.substr(1) : ref.substr(slash + 1);
    return "ref-" + (last.empty() ? std::string("root") : last);
  }

  // Returns the name of a rule matching the schema.
  std::string visit(const json& s, const std::string& name, const std::string& path) {
    if (s.is_boolean()) {
      if (!s.get<bool>()) unsupported(path, "the schema false (nothing validates)");
      return primitive("value");
    }
    if (!s.is_object()) bad(path, "a schema must be an object or a boolean");
    check_keywords(s, path);

    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) bad(path, "$ref must be a string");
      const std::string ref = s["$ref"].get<std::string>();
      if (auto it = ref_rules_.find(ref); it != ref_rules_.end()) return it->second;
      std::string rule = sanitize(ref_name(ref));
      while (rules_.count(rule)) rule += "-";
      ref_rules_[ref] = rule;
      rules_[rule] = "";  // reserved: a recursive schema refers to it while it is being built
      const std::string target = visit(resolve(ref, path), rule + "-def", ref);
      rules_[rule] = target;
      return rule;
    }
    if (s.contains("const")) {
      primitive("space");
      return add_rule(name, json_literal(s["const"]) + " space");
    }
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) bad(path, "enum must be a non-empty array");
      std::string body = "(";
      for (size_t i = 0; i < s["enum"].size(); ++i) body += (i ? " | " : "") + json_literal(s["enum"][i]);
      primitive("space");
      return add_rule(name, body + ") space");
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      if (!s[key].is_array() || s[key].empty()) bad(path, std::string(key) + " must be a non-empty array");
      if (std::string_view(key) == "oneOf" && s[key].size() > 1) {
        warnings_.push_back("JSON schema at " + path +
                            ": oneOf is treated as anyOf (a value matching two branches is not excluded)");
      }
      std::string body;
      for (size_t i = 0; i < s[key].size(); ++i) {
        // The other keywords of this node apply to every branch (a common way to write it).
        json branch = s[key][i];
        if (branch.is_object()) {
          for (const auto& [k, v] : s.items()) {
            if (k != key && !annotations().count(k) && !branch.contains(k)) branch[k] = v;
          }
        }
        body += (i ? " | " : "") + visit(branch, name + "-" + std::to_string(i), path + "/" + key + "/" + std::to_string(i));
      }
      return add_rule(name, body);
    }
    if (s.contains("allOf")) return visit(merge_all_of(s, path), name, path);

    if (s.contains("type") && s["type"].is_array()) {
      if (s["type"].empty()) bad(path, "type must not be an empty array");
      std::string body;
      for (size_t i = 0; i < s["type"].size(); ++i) {
        json branch = s;
        branch["type"] = s["type"][i];
        body += (i ? " | " : "") + visit(branch, name + "-" + s["type"][i].get<std::string>(), path);
      }
      return add_rule(name, body);
    }
    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) bad(path, "type must be a string or an array of strings");
      type = s["type"].get<std::string>();
    } else if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      type = "object";
    } else if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") || s.contains("maxItems")) {
      type = "array";
    } else if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern") || s.contains("format")) {
      type = "string";
    } else if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum")) {
      type = "number";
    }
    if (type.empty()) return primitive("value");
    if (type == "object") return object_rule(s, name, path);
    if (type == "array") return array_rule(s, name, path);
    if (type == "string") return string_rule(s, name, path);
    if (type == "integer") return integer_rule(s, name, path);
    if (type == "number") {
      for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
        if (s.contains(k)) unsupported(path, std::string("'") + k + "' on type number (only on integer)");
      }
      return primitive("number");
    }
    if (type == "boolean") return primitive("boolean");
    if (type == "null") return primitive("null");
    bad(path, "unknown type '" + type + "'");
  }

  json merge_all_of(const json& s, const std::string& path) {
    const json& parts = s["allOf"];
    if (!parts.is_array() || parts.empty()) bad(path, "allOf must be a non-empty array");
    json merged = s;
    merged.erase("allOf");
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string p = path + "/allOf/" + std::to_string(i);
      const json* part = &parts[i];
      if (part->is_object() && part->contains("$ref")) part = &resolve((*part)["$ref"].get<std::string>(), p);
      if (!part->is_object()) bad(p, "an allOf entry must be a schema object");
      for (const auto& [k, v] : part->items()) {
        if (annotations().count(k)) continue;
        if (k == "properties") {
          if (!merged.contains("properties")) merged["properties"] = json::object();
          for (const auto& [pk, pv] : v.items()) {
            if (merged["properties"].contains(pk)) unsupported(p, "allOf with property '" + pk + "' in more than one entry");
            merged["properties"][pk] = pv;
          }
        } else if (k == "required") {
          if (!merged.contains("required")) merged["required"] = json::array();
          for (const auto& r : v) merged["required"].push_back(r);
        } else if (k == "type" && merged.contains("type") && merged["type"] != v) {
          unsupported(p, "allOf with different types");
        } else if (k == "type") {
          merged["type"] = v;
        } else if (merged.contains(k) && merged[k] != v) {
          unsupported(p, "allOf with keyword '" + k + "' in more than one entry (only objects' properties merge)");
        } else {
          merged[k] = v;
        }
      }
    }
    return merged;
  }

  std::string object_rule(const json& s, const std::string& name, const std::string& path) {
    primitive("space");
    json props = s.value("properties", json::object());
    if (!props.is_object()) bad(path, "properties must be an object");
    std::vector<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) bad(path, "required must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) bad(path, "required must list strings");
        if (std::find(required.begin(), required.end(), r.get<std::string>()) == required.end()) required.push_back(r);
      }
    }
    // Required keys first (in the order of properties, then any not described), then optional.
    std::vector<std::pair<std::string, std::string>> req, opt;  // key, its kv rule
    auto kv_rule = [&](const std::string& key, const json& sub) {
      const std::string value = visit(sub, name + "-" + key, path + "/properties/" + key);
      return add_rule(name + "-" + key + "-kv", json_literal(json(key)) + " space \":\" space " + value);
    };
    for (const auto& [key, sub] : props.items()) {
      const bool is_req = std::find(required.begin(), required.end(), key) != required.end();
      (is_req ? req : opt).push_back({key, kv_rule(key, sub)});
    }
    for (const std::string& key : required) {
      if (!props.contains(key)) req.push_back({key, kv_rule(key, json::object())});
    }
    std::string additional;  // the rule of one extra key-value pair, if any
    const json extra = s.value("additionalProperties", json());
    const bool extra_allowed = extra.is_null() ? props.empty() : !(extra.is_boolean() && !extra.get<bool>());
    if (!extra.is_null() && !extra.is_boolean() && !extra.is_object()) bad(path, "additionalProperties must be a boolean or a schema");
    if (extra_allowed) {
      const std::string value = extra.is_object() ? visit(extra, name + "-additional", path + "/additionalProperties") : primitive("value");
      std::vector<std::string> names;
      for (const auto& [key, _] : props.items()) names.push_back(key);
      for (const std::string& k : required) names.push_back(k);
      additional = add_rule(name + "-additional-kv", key_not_in(names, name) + " \":\" space " + value);
    }
    if (req.empty() && opt.empty() && !extra_allowed) return add_rule(name, "\"{\" space \"}\" space");
    if (req.empty() && opt.empty() && !extra.is_object() && extra_allowed) return primitive("object");

    std::string body = "\"{\" space ";
    if (!req.empty()) {
      for (size_t i = 0; i < req.size(); ++i) body += (i ? "\",\" space " : "") + req[i].second + " ";
      for (const auto& o : opt) body += "(\",\" space " + o.second + ")? ";
      if (!additional.empty()) body += "(\",\" space " + additional + ")* ";
    } else {
      // No required key: the first present one has no comma before it. tail_i = what may
      // follow element i (the later elements, each after a comma).
      std::vector<std::string> elems;
      for (const auto& o : opt) elems.push_back(o.second);
      std::string tail = additional.empty() ? "" : "(\",\" space " + additional + ")*";
      std::vector<std::string> firsts;
      if (!additional.empty()) firsts.push_back(additional + " " + tail);
      for (size_t i = elems.size(); i-- > 0;) {
        const std::string tail_rule = tail.empty() ? "" : add_rule(name + "-tail-" + std::to_string(i), tail);
        firsts.push_back(elems[i] + (tail_rule.empty() ? "" : " " + tail_rule));
        tail = "(\",\" space " + elems[i] + ")? " + tail_rule;
      }
      std::reverse(firsts.begin(), firsts.end());
      std::string alts;
      for (size_t i = 0; i < firsts.size(); ++i) alts += (i ? " | " : "") + firsts[i];
      body += "(" + alts + ")? ";
    }
    return add_rule(name, body + "\"}\" space");
  }

  // A JSON string (without backslash escapes) that is none of `names`: a trie over the names
  // where each node either follows a name's next character, leaves the names for good, or ends.
  std::string key_not_in(std::vector<std::string> names, const std::string& name) {
    primitive("space");
    const std::string key_char = R"([^"\\\x7F\x00-\x1F])";
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    // Names a backslash-free key can never equal need no exclusion.
    std::erase_if(names, [](const std::string& n) {
      return std::any_of(n.begin(), n.end(), [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
    });
    if (names.empty()) return add_rule(name + "-key", "\"\\\"\" " + key_char + "* \"\\\"\" space");
    for (const std::string& n : names) {
      if (std::any_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
        unsupported(name, "additionalProperties next to a non-ASCII property name ('" + n + "')");
      }
    }
    // ASCII names: a key diverges from a name at its first differing character.
    std::string body = build_not_in(names, 0, name + "-key", key_char);
    return add_rule(name + "-key", "\"\\\"\" " + body + " space");
  }

  std::string build_not_in(const std::vector<std::string>& names, size_t depth, const std::string& rule,
                           const std::string& key_char) {
    bool ends_here = false;
    std::map<unsigned char, std::vector<std::string>> next;
    for (const std::string& n : names) {
      if (n.size() == depth) {
        ends_here = true;
      } else {
        next[static_cast<unsigned char>(n[depth])].push_back(n);
      }
    }
    std::vector<std::string> alts;
    if (!ends_here) alts.push_back("\"\\\"\"");  // the key ends here and is no name
    // Any character that no name continues with: the key has left every name.
    std::string cls = R"([^"\\\x7F\x00-\x1F)";
    static const char* hex = "0123456789ABCDEF";
    for (const auto& [c, _] : next) {
      cls += "\\x";
      cls += hex[c >> 4];
      cls += hex[c & 15];
    }
    alts.push_back(cls + "] " + key_char + "* \"\\\"\"");
    for (const auto& [c, group] : next) {
      const std::string sub = build_not_in(group, depth + 1, rule, key_char);
      alts.push_back(gbnf_literal(std::string(1, char(c))) + " " +
                     add_rule(rule + "-" + std::to_string(depth) + "-" + std::to_string(c), sub));
    }
    std::string body;
    for (size_t i = 0; i < alts.size(); ++i) body += (i ? " | " : "") + alts[i];
    return "(" + body + ")";
  }

  static std::optional<uint64_t> count_keyword(const json& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return std::nullopt;
    const json& v = s[key];
    if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) {
      bad(path, std::string(key) + " must be a non-negative integer");
    }
    const double d = v.get<double>();
    if (d < 0) bad(path, std::string(key) + " must be a non-negative integer");
    if (d > 100000) unsupported(path, std::string(key) + " above 100000");
    return uint64_t(d);
  }

  std::string array_rule(const json& s, const std::string& name, const std::string& path) {
    primitive("space");
    const auto min_items = count_keyword(s, "minItems", path).value_or(0);
    const auto max_items = count_keyword(s, "maxItems", path);
    if (max_items && *max_items < min_items) bad(path, "maxItems < minItems");
    const json* tuple = nullptr;
    if (s.contains("prefixItems")) tuple = &s["prefixItems"];
    if (s.contains("items") && s["items"].is_array()) {
      if (tuple) bad(path, "both prefixItems and an items array");
      tuple = &s["items"];
    }
    if (tuple) {
      if (!tuple->is_array()) bad(path, "prefixItems must be an array");
      if (s.contains("items") && !s["items"].is_array() && !(s["items"].is_boolean() && !s["items"].get<bool>())) {
        unsupported(path, "items after prefixItems (only a fixed tuple)");
      }
      if (s.contains("minItems") || s.contains("maxItems")) unsupported(path, "minItems/maxItems with a tuple (prefixItems)");
      std::string body = "\"[\" space ";
      for (size_t i = 0; i < tuple->size(); ++i) {
        body += (i ? "\",\" space " : "") + visit((*tuple)[i], name + "-" + std::to_string(i), path + "/prefixItems/" + std::to_string(i)) + " ";
      }
      return add_rule(name, body + "\"]\" space");
    }
    const std::string item = s.contains("items") ? visit(s["items"], name + "-item", path + "/items") : primitive("value");
    if (max_items && *max_items == 0) return add_rule(name, "\"[\" space \"]\" space");
    const bool bounded = max_items.has_value();
    const uint64_t more_hi = bounded ? *max_items - 1 : 0;  // items after the first
    std::string body;
    if (min_items == 0) {
      body = "\"[\" space (" + item + " (\",\" space " + item + ")" + repeat_suffix(0, bounded, more_hi) + ")? \"]\" space";
    } else {
      body = "\"[\" space " + item + " (\",\" space " + item + ")" + repeat_suffix(min_items - 1, bounded, more_hi) +
             " \"]\" space";
    }
    return add_rule(name, body);
  }

  std::string string_rule(const json& s, const std::string& name, const std::string& path) {
    primitive("space");
    const auto min_len = count_keyword(s, "minLength", path);
    const auto max_len = count_keyword(s, "maxLength", path);
    if (min_len && max_len && *max_len < *min_len) bad(path, "maxLength < minLength");
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) bad(path, "pattern must be a string");
      if (min_len || max_len) unsupported(path, "pattern together with minLength/maxLength");
      if (s.contains("format")) unsupported(path, "pattern together with format");
      std::string expr;
      try {
        expr = regex_to_gbnf(s["pattern"].get<std::string>());
      } catch (const Error& e) {
        throw Error(e.kind(), "JSON schema at " + path + ": " + e.what());
      }
      return add_rule(name, "\"\\\"\" " + expr + " \"\\\"\" space");
    }
    if (s.contains("format")) {
      const std::string f = s["format"].is_string() ? s["format"].get<std::string>() : "";
      if (f == "date" || f == "time" || f == "date-time" || f == "uuid") {
        if (min_len || max_len) unsupported(path, "format together with minLength/maxLength");
        return primitive(f + "-string");
      }
      warnings_.push_back("JSON schema at " + path + ": format '" + f +
                          "' is not supported (any string is allowed; supported: date, time, date-time, uuid)");
    }
    if (!min_len && !max_len) return primitive("string");
    primitive("char");
    return add_rule(name, "\"\\\"\" char" + repeat_suffix(min_len.value_or(0), max_len.has_value(), max_len.value_or(0)) +
                              " \"\\\"\" space");
  }

  // An integer bound: a number (or draft-4 boolean exclusivity) rounded inward to an integer.
  static std::optional<int64_t> bound(const json& s, bool lower, const std::string& path) {
    std::optional<double> v;
    const char* inc = lower ? "minimum" : "maximum";
    const char* exc = lower ? "exclusiveMinimum" : "exclusiveMaximum";
    if (s.contains(inc)) {
      if (!s[inc].is_number()) bad(path, std::string(inc) + " must be a number");
      double d = s[inc].get<double>();
      if (s.contains(exc) && s[exc].is_boolean() && s[exc].get<bool>()) d = lower ? std::floor(d) + 1 : std::ceil(d) - 1;
      v = lower ? std::ceil(d) : std::floor(d);
    }
    if (s.contains(exc) && !s[exc].is_boolean()) {
      if (!s[exc].is_number()) bad(path, std::string(exc) + " must be a number");
      const double d = s[exc].get<double>();
      const double e = lower ? std::floor(d) + 1 : std::ceil(d) - 1;
      v = v ? (lower ? std::max(*v, e) : std::min(*v, e)) : e;
    }
    if (!v) return std::nullopt;
    if (std::fabs(*v) >= 1e15) unsupported(path, std::string(lower ? "a lower" : "an upper") + " bound beyond 10^15");
    return int64_t(*v);
  }

  std::string integer_rule(const json& s, const std::string& name, const std::string& path) {
    const auto lo = bound(s, true, path), hi = bound(s, false, path);
    if (!lo && !hi) return primitive("integer");
    primitive("space");
    std::string expr;
    const std::string any_pos = "[1-9] [0-9]{0,15}";
    if (lo && hi) {
      if (*hi < *lo) bad(path, "no integer between the minimum and the maximum");
      if (*hi < 0) {
        expr = "\"-\" " + nonneg_range(uint64_t(-*hi), uint64_t(-*lo));
      } else if (*lo >= 0) {
        expr = nonneg_range(uint64_t(*lo), uint64_t(*hi));
      } else {
        expr = "(\"-\" " + nonneg_range(1, uint64_t(-*lo)) + " | " + nonneg_range(0, uint64_t(*hi)) + ")";
      }
    } else if (lo) {
      expr = *lo >= 0 ? nonneg_at_least(uint64_t(*lo))
                      : "(\"-\" " + nonneg_range(1, uint64_t(-*lo)) + " | [0] | " + any_pos + ")";
    } else {
      expr = *hi >= 0 ? "(\"-\" " + any_pos + " | " + nonneg_range(0, uint64_t(*hi)) + ")"
                      : "\"-\" " + nonneg_at_least(uint64_t(-*hi));
    }
    return add_rule(name, expr + " space");
  }
};

}  // namespace

JsonSchemaGrammar json_schema_value_to_gbnf(const nlohmann::ordered_json& schema) { return Converter(schema).run(); }

JsonSchemaGrammar json_schema_to_gbnf(std::string_view schema_json) {
  nlohmann::ordered_json schema = nlohmann::ordered_json::parse(schema_json, nullptr, false);
  if (schema.is_discarded()) throw Error(ErrorKind::InvalidArgument, "JSON schema: not valid JSON");
  return json_schema_value_to_gbnf(schema);
}

const std::string& json_object_gbnf() {
  static const std::string g = [] {
    JsonSchemaGrammar j = json_schema_value_to_gbnf(nlohmann::ordered_json{{"type", "object"}});
    return j.gbnf;
  }();
  return g;
}

}  // namespace lp
