// jinja2's filters, tests and globals as transformers' environment has them (its own tojson,
// raise_exception and strftime_now), limited to what chat templates use.
#include "chat/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "chat/errors.h"
#include "chat/eval.h"
#include "chat/text.h"

namespace lp::chat {
namespace {

using FilterFn = Value (*)(Interpreter&, const Value&, Args&, int);

// Filters jinja2 has that llamaprof does not: a template using one gets Unsupported, not "no filter".
const char* kJinjaOnlyFilters[] = {"center", "e", "escape", "filesizeformat", "forceescape", "format", "groupby",
                                   "pprint", "random", "slice", "striptags", "truncate", "urlencode", "urlize",
                                   "wordwrap", "xmlattr"};
const char* kJinjaOnlyTests[] = {"escaped"};

std::string soft_str(const Value& v) { return v.to_str(); }

Value lowered(const Value& v, int line) { return v.is_string() ? Value(cased(py_lower(v.str()), line)) : v; }

// "a.b.0" as jinja2's attribute getters split it; integer parts index lists.
Value get_path(const Value& v, const std::string& path, int line) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    cur = get_item(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part), line);
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Value attribute_key(const Value& v, const Value& attribute, bool case_sensitive, int line) {
  Value k = attribute.is_undefined() || attribute.is_none()
                ? v
                : attribute.is_int() ? get_item(v, attribute, line) : get_path(v, attribute.to_str(), line);
  return case_sensitive ? k : lowered(k, line);
}

// jinja2's sort, unique and dictsort compare [key] lists, so equal keys are never ordered.
bool less(const Value& a, const Value& b, int line) {
  if (a == b) return false;
  if (a.is_undefined() || b.is_undefined()) fail(line, "cannot sort undefined values");
  try {
    return less_than(a, b);
  } catch (const Error& e) {
    fail(line, std::string(e.what()).substr(15));
  }
}

// jinja2's generator filters (map, select*, reject*, unique, items, batch) fail only when their
// result is iterated, so an error while computing one is kept in the iterator it returns.
template <Value (*F)(Interpreter&, const Value&, Args&, int)>
Value lazy(Interpreter& in, const Value& v, Args& a, int line) {
  try {
    return F(in, v, a, line);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::InvalidArgument) throw;
    std::string msg = e.what();
    const std::string prefix = "chat template: line " + std::to_string(line) + ": ";
    if (msg.compare(0, prefix.size(), prefix) == 0) msg.erase(0, prefix.size());
    else if (msg.compare(0, 15, "chat template: ") == 0) msg.erase(0, 15);
    return Value::broken_iterator(std::move(msg));
  }
}

Value f_tojson(Interpreter&, const Value& v, Args& a, int line) {
  JsonOptions o;
  o.ensure_ascii = a.get(0, "ensure_ascii").truthy();
  Value indent = a.get(1, "indent");
  if (indent.is_int()) {
    o.indent = static_cast<int>(std::clamp<int64_t>(indent.as_int(), 0, 64));
    o.indent_str = std::string(static_cast<size_t>(o.indent), ' ');
  } else if (indent.is_string()) {
    o.indent = 0;
    o.indent_str = indent.str();
  } else if (!indent.is_none() && !indent.is_undefined()) {
    fail(line, "tojson: indent must be an int or a string");
  }
  Value seps = a.get(2, "separators");
  if (seps.is_list()) {
    if (seps.list().items.size() != 2 || !seps.list().items[0].is_string() || !seps.list().items[1].is_string())
      fail(line, "tojson: separators must be two strings");
    o.has_separators = true;
    o.item_sep = seps.list().items[0].str();
    o.key_sep = seps.list().items[1].str();
  }
  o.sort_keys = a.get(3, "sort_keys").truthy();
  try {
    return Value(to_json(v, o));
  } catch (const Error& e) {
    fail(line, std::string(e.what()).substr(15));
  }
}

Value f_length(Interpreter&, const Value& v, Args&, int line) { return Value(length(v, line)); }

Value f_trim(Interpreter&, const Value& v, Args& a, int line) {
  Value chars = a.get(0, "chars");
  if (!chars.is_undefined() && !chars.is_none() && !chars.is_string()) fail(line, "trim: chars must be a string");
  return Value(py_strip(soft_str(v), chars.is_string() ? &chars.str() : nullptr, true, true));
}

Value f_string(Interpreter&, const Value& v, Args&, int) { return Value(soft_str(v)); }
Value f_safe(Interpreter&, const Value& v, Args&, int) { return Value::markup(soft_str(v)); }
Value f_upper(Interpreter&, const Value& v, Args&, int line) { return Value(cased(py_upper(soft_str(v)), line)); }
Value f_lower(Interpreter&, const Value& v, Args&, int line) { return Value(cased(py_lower(soft_str(v)), line)); }
Value f_capitalize(Interpreter&, const Value& v, Args&, int line) {
  return Value(cased(py_capitalize(soft_str(v)), line));
}

Value f_title(Interpreter&, const Value& v, Args&, int line) { return Value(cased(jinja_title(soft_str(v)), line)); }

Value f_default(Interpreter&, const Value& v, Args& a, int) {
  Value def = a.has(0, "default_value") ? a.get(0, "default_value") : Value("");
  bool boolean = a.get(1, "boolean").truthy();
  if (v.is_undefined() || (boolean && !v.truthy())) return def;
  return v;
}

Value f_join(Interpreter& in, const Value& v, Args& a, int line) {
  Value sep = a.get(0, "d");
  Value attribute = a.get(1, "attribute");
  std::string s = sep.is_undefined() ? "" : soft_str(sep), out;
  bool first = true;
  for (const auto& x : iterate(v, line)) {
    if (!first) out += s;
    first = false;
    out += soft_str(attribute.is_undefined() ? x : attribute_key(x, attribute, true, line));
    in.check_size(out.size(), line);
  }
  return Value(std::move(out));
}

Value f_items(Interpreter&, const Value& v, Args&, int line) {
  if (v.is_undefined()) return Value::iterator({});
  if (!v.is_dict()) fail(line, "items: can only get item pairs from a mapping");
  std::vector<Value> out;
  for (const auto& [k, x] : v.dict().items) out.push_back(Value::list({k, x}, true));
  return Value::iterator(std::move(out));
}

Value f_list(Interpreter&, const Value& v, Args&, int line) { return Value::list(iterate(v, line)); }

Value f_first(Interpreter&, const Value& v, Args&, int line) {
  if (v.is_list() && v.list().iterator) {  // takes one item of an iterator, not all
    const ListObj& l = v.list();
    if (!l.broken.empty()) fail(line, l.broken);
    if (l.consumed >= l.items.size()) return Value::undefined("no first item, sequence was empty");
    return l.items[l.consumed++];
  }
  auto items = iterate(v, line);
  return items.empty() ? Value::undefined("no first item, sequence was empty") : items.front();
}

Value f_last(Interpreter&, const Value& v, Args&, int line) {
  if (v.is_list() && v.list().iterator) fail(line, "'" + v.type_name() + "' object is not reversible");
  auto items = iterate(v, line);
  return items.empty() ? Value::undefined("no last item, sequence was empty") : items.back();
}

Value f_reverse(Interpreter&, const Value& v, Args&, int line) {
  if (v.is_string()) {
    auto cps = code_points(v.str());
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
    return Value(out);
  }
  bool iterator = v.is_list() && v.list().iterator;
  auto items = iterate(v, line);
  std::reverse(items.begin(), items.end());
  // reversed() of a list or view is an iterator; jinja2 falls back to a list for iterators.
  return iterator ? Value::list(std::move(items)) : Value::iterator(std::move(items), "list_reverseiterator");
}

Value f_replace(Interpreter& in, const Value& v, Args& a, int line) {
  Value count = a.get(2, "count");
  std::string r = py_replace(soft_str(v), soft_str(a.get(0, "old")), soft_str(a.get(1, "new")),
                             count.is_undefined() || count.is_none() ? -1 : count.as_int());
  in.check_size(r.size(), line);
  return Value(std::move(r));
}

Value f_indent(Interpreter& in, const Value& v, Args& a, int line) {
  // jinja2 appends "\n" to its argument first, which only a string survives.
  if (v.is_undefined()) fail_undefined(v, line);
  if (!v.is_string()) fail(line, "indent: expected a string, not " + v.type_name());
  Value width = a.get(0, "width");
  std::string ind = width.is_string() ? width.str() : std::string(static_cast<size_t>(std::clamp<int64_t>(width.is_undefined() ? 4 : width.as_int(), 0, 1024)), ' ');
  bool first = a.get(1, "first").truthy(), blank = a.get(2, "blank").truthy();
  std::string s = soft_str(v) + "\n";
  auto lines = py_splitlines(s);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    if (i && (blank || !lines[i].empty())) out += ind;
    out += lines[i];
    in.check_size(out.size(), line);
  }
  if (first) out = ind + out;
  return Value(std::move(out));
}

Value f_int(Interpreter&, const Value& v, Args& a, int line) {
  Value def = a.has(0, "default") ? a.get(0, "default") : Value(0);
  if (v.is_undefined()) fail_undefined(v, line);  // int(Undefined) raises UndefinedError, which int() does not catch
  if (v.is_int() || v.is_bool()) return Value(v.as_int());
  if (v.is_float()) return std::isfinite(v.as_double()) ? Value(static_cast<int64_t>(v.as_double())) : def;
  if (v.is_string()) {
    std::string s = py_strip(v.str(), nullptr, true, true);
    try {
      size_t used = 0;
      int64_t i = std::stoll(s, &used, 10);
      if (used == s.size()) return Value(i);
      double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(d));
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value f_float(Interpreter&, const Value& v, Args& a, int line) {
  Value def = a.has(0, "default") ? a.get(0, "default") : Value(0.0);
  if (v.is_undefined()) fail_undefined(v, line);
  if (v.is_number()) return Value(v.as_double());
  if (v.is_string()) {
    std::string s = py_strip(v.str(), nullptr, true, true);
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value f_abs(Interpreter&, const Value& v, Args&, int line) {
  if (v.is_float()) return Value(std::fabs(v.as_double()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) unsupported(line, "integers beyond 64 bits");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  fail(line, "bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_round(Interpreter&, const Value& v, Args& a, int line) {
  if (!v.is_number()) fail(line, "round: expected a number, not " + v.type_name());
  int64_t precision = a.has(0, "precision") ? a.get(0, "precision").as_int() : 0;
  std::string method = a.has(1, "method") ? soft_str(a.get(1, "method")) : "common";
  if (method != "common" && method != "ceil" && method != "floor") fail(line, "round: method must be common, ceil or floor");
  // Python's round() keeps an int an int; math.ceil/floor(x * 10**p) / 10**p is a float.
  if (method == "common" && !v.is_float() && precision >= 0) return Value(v.as_int());
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
  if (method == "common" && !v.is_float()) return Value(static_cast<int64_t>(r / scale));
  return Value(r / scale);
}

std::vector<Value> sorted(std::vector<Value> items, const Value& attribute, bool case_sensitive, bool reverse, int line) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& x : items) keyed.emplace_back(attribute_key(x, attribute, case_sensitive, line), std::move(x));
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) {
    return reverse ? less(q.first, p.first, line) : less(p.first, q.first, line);
  });
  std::vector<Value> out;
  for (auto& p : keyed) out.push_back(std::move(p.second));
  return out;
}

Value f_sort(Interpreter&, const Value& v, Args& a, int line) {
  return Value::list(sorted(iterate(v, line), a.get(2, "attribute"), a.get(1, "case_sensitive").truthy(),
                            a.get(0, "reverse").truthy(), line));
}

Value f_dictsort(Interpreter&, const Value& v, Args& a, int line) {
  if (!v.is_dict()) fail(line, "dictsort: expected a mapping, not " + v.type_name());
  bool case_sensitive = a.get(0, "case_sensitive").truthy();
  Value by = a.get(1, "by");
  int pos = by.is_undefined() || (by.is_string() && by.str() == "key") ? 0 : 1;
  if (!by.is_undefined() && !(by.is_string() && (by.str() == "key" || by.str() == "value")))
    fail(line, "dictsort: you can only sort by either \"key\" or \"value\"");
  std::vector<Value> items;
  for (const auto& [k, x] : v.dict().items) items.push_back(Value::list({k, x}, true));
  return Value::list(sorted(std::move(items), Value(static_cast<int64_t>(pos)), case_sensitive,
                            a.get(2, "reverse").truthy(), line));
}

Value f_unique(Interpreter&, const Value& v, Args& a, int line) {
  bool case_sensitive = a.get(0, "case_sensitive").truthy();
  Value attribute = a.get(1, "attribute");
  std::vector<Value> seen, out;
  for (auto& x : iterate(v, line)) {
    Value k = attribute_key(x, attribute, case_sensitive, line);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(k);
    out.push_back(x);
  }
  return Value::iterator(std::move(out));
}

Value min_max(const Value& v, Args& a, int line, bool want_max) {
  auto items = iterate(v, line);
  if (items.empty()) return Value::undefined("no min/max item, sequence was empty");
  bool case_sensitive = a.get(0, "case_sensitive").truthy();
  Value attribute = a.get(1, "attribute");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    Value ki = attribute_key(items[i], attribute, case_sensitive, line);
    Value kb = attribute_key(items[best], attribute, case_sensitive, line);
    if (want_max ? less(kb, ki, line) : less(ki, kb, line)) best = i;
  }
  return items[best];
}
Value f_min(Interpreter&, const Value& v, Args& a, int line) { return min_max(v, a, line, false); }
Value f_max(Interpreter&, const Value& v, Args& a, int line) { return min_max(v, a, line, true); }

Value f_sum(Interpreter& in, const Value& v, Args& a, int line) {
  Value attribute = a.get(0, "attribute");
  Value total = a.has(1, "start") ? a.get(1, "start") : Value(0);
  for (const auto& x : iterate(v, line))
    total = binary_op(in, "+", total, attribute.is_undefined() ? x : attribute_key(x, attribute, true, line), line);
  return total;
}

Value f_wordcount(Interpreter&, const Value& v, Args&, int) {
  std::string s = soft_str(v);
  int64_t n = 0;
  bool in_word = false;
  for (unsigned char c : s) {
    bool w = std::isalnum(c) || c == '_' || c >= 0x80;
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

Value f_batch(Interpreter&, const Value& v, Args& a, int line) {
  int64_t n = a.get(0, "linecount").is_int() ? a.get(0, "linecount").as_int() : 0;
  if (n <= 0) fail(line, "batch: linecount must be positive");
  bool fill = a.has(1, "fill_with");
  std::vector<Value> out, cur;
  for (auto& x : iterate(v, line)) {
    cur.push_back(std::move(x));
    if (static_cast<int64_t>(cur.size()) == n) {  // batch yields lists
      out.push_back(Value::list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    while (fill && static_cast<int64_t>(cur.size()) < n) cur.push_back(a.get(1, "fill_with"));
    out.push_back(Value::list(std::move(cur)));
  }
  return Value::iterator(std::move(out));
}

Value f_attr(Interpreter&, const Value& v, Args& a, int line) {
  std::string name = soft_str(a.get(0, "name"));
  if (v.is_dict()) return Value::undefined("'dict object' has no attribute '" + name + "'");  // items are not attributes
  return get_attr(v, name, line);
}

// select/reject/selectattr/rejectattr: args are [attr,] test name, test args.
Value select_impl(Interpreter& in, const Value& v, Args& a, int line, bool by_attr, bool keep) {
  size_t k = 0;
  std::string attr;
  if (by_attr) attr = soft_str(a.get(k++, "attr"));
  Value test = k < a.pos.size() ? a.pos[k] : Value::undefined();
  Args targs;
  for (size_t i = k + 1; i < a.pos.size(); ++i) targs.pos.push_back(a.pos[i]);
  std::string tname = test.is_undefined() ? "" : soft_str(test);
  if (!tname.empty() && !has_test(tname)) {
    if (jinja2_has_test(tname)) unsupported(line, "the '" + tname + "' test");
    fail(line, "no test named '" + tname + "'");
  }
  std::vector<Value> out;
  if (!v.truthy()) return Value::iterator({});  // jinja2 checks `if value:` before iterating
  for (auto& x : iterate(v, line)) {
    Value subject = by_attr ? get_path(x, attr, line) : x;
    bool r = tname.empty() ? subject.truthy() : apply_test(in, tname, subject, targs, line);
    if (r == keep) out.push_back(std::move(x));
  }
  return Value::iterator(std::move(out));
}
Value f_select(Interpreter& in, const Value& v, Args& a, int line) { return select_impl(in, v, a, line, false, true); }
Value f_reject(Interpreter& in, const Value& v, Args& a, int line) { return select_impl(in, v, a, line, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, Args& a, int line) { return select_impl(in, v, a, line, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, Args& a, int line) { return select_impl(in, v, a, line, true, false); }

Value f_map(Interpreter& in, const Value& v, Args& a, int line) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::iterator({});
  for (const auto& [k, val] : a.kw)
    if (k == "attribute") {
      Value def = a.get(99, "default");
      for (auto& x : iterate(v, line)) {
        Value r = get_path(x, soft_str(val), line);
        out.push_back(r.is_undefined() && !def.is_undefined() ? def : r);
      }
      return Value::iterator(std::move(out));
    }
  if (a.pos.empty()) fail(line, "map: no filter or attribute given");
  std::string fname = soft_str(a.pos[0]);
  if (!has_filter(fname)) {
    if (jinja2_has_filter(fname)) unsupported(line, "the '" + fname + "' filter");
    fail(line, "no filter named '" + fname + "'");
  }
  Args fargs;
  fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
  fargs.kw = a.kw;
  for (auto& x : iterate(v, line)) out.push_back(apply_filter(in, fname, x, fargs, line));
  return Value::iterator(std::move(out));
}

struct FilterEntry {
  const char* name;
  FilterFn fn;
};

const FilterEntry kFilters[] = {
    {"abs", f_abs},           {"attr", f_attr},         {"batch", lazy<f_batch>},
    {"capitalize", f_capitalize}, {"count", f_length},  {"d", f_default},
    {"default", f_default},   {"dictsort", f_dictsort}, {"first", f_first},
    {"float", f_float},       {"indent", f_indent},     {"int", f_int},
    {"items", lazy<f_items>},       {"join", f_join},         {"last", f_last},
    {"length", f_length},     {"list", f_list},         {"lower", f_lower},
    {"map", lazy<f_map>},           {"max", f_max},           {"min", f_min},
    {"reject", lazy<f_reject>},     {"rejectattr", lazy<f_rejectattr>}, {"replace", f_replace},
    {"reverse", f_reverse},   {"round", f_round},       {"safe", f_safe},
    {"select", lazy<f_select>},     {"selectattr", lazy<f_selectattr>}, {"sort", f_sort},
    {"string", f_string},     {"sum", f_sum},           {"title", f_title},
    {"tojson", f_tojson},     {"trim", f_trim},         {"unique", lazy<f_unique>},
    {"upper", f_upper},       {"wordcount", f_wordcount},
};

FilterFn find_filter(const std::string& name) {
  for (const auto& f : kFilters)
    if (name == f.name) return f.fn;
  return nullptr;
}

const char* kTests[] = {"boolean", "callable", "defined", "divisibleby", "eq", "equalto", "even", "false",
                        "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan",
                        "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence",
                        "string", "true", "undefined", "upper", "==", "!=", "<", "<=", ">", ">=", "filter", "test"};

bool compare_test(const std::string& name, const Value& v, const Value& other, int line) {
  if (name == "eq" || name == "equalto" || name == "==") return v == other;
  if (name == "ne" || name == "!=") return !(v == other);
  if (v.is_undefined()) fail_undefined(v, line);
  if (other.is_undefined()) fail_undefined(other, line);
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, other, line);
  if (name == "gt" || name == "greaterthan" || name == ">") return less(other, v, line);
  if (name == "le" || name == "<=") return !less(other, v, line);
  return !less(v, other, line);  // ge, >=
}

}  // namespace

bool has_filter(const std::string& name) { return find_filter(name) != nullptr; }

bool has_test(const std::string& name) {
  for (const char* t : kTests)
    if (name == t) return true;
  return false;
}

bool jinja2_has_filter(const std::string& name) {
  for (const char* f : kJinjaOnlyFilters)
    if (name == f) return true;
  return false;
}

bool jinja2_has_test(const std::string& name) {
  for (const char* t : kJinjaOnlyTests)
    if (name == t) return true;
  return false;
}

Value apply_filter(Interpreter& in, const std::string& name, const Value& input, Args& args, int line) {
  FilterFn fn = find_filter(name);
  if (!fn && jinja2_has_filter(name)) unsupported(line, "the '" + name + "' filter");
  if (!fn) fail(line, "no filter named '" + name + "'");
  return fn(in, input, args, line);
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, Args& a, int line) {
  using K = Value::Kind;
  if (!has_test(name)) {
    if (jinja2_has_test(name)) unsupported(line, "the '" + name + "' test");
    fail(line, "no test named '" + name + "'");
  }
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // Undefined is iterable and has __len__/__getitem__ in jinja2, so it passes both of these.
  if (name == "iterable") return v.kind() == K::List || v.kind() == K::Dict || v.kind() == K::String || v.is_undefined();
  if (name == "sequence")
    return v.is_plain_list() || (v.is_list() && v.list().is_range()) || v.kind() == K::Dict || v.kind() == K::String ||
           v.is_undefined();
  if (name == "callable") return v.is_func() || v.is_undefined();
  if (name == "lower" || name == "upper") {
    std::string s = soft_str(v);
    if (has_cased_non_ascii(s)) unsupported(line, "the '" + name + "' test on non-ASCII letters");
    bool cased = false, ok = true;
    for (unsigned char c : s) {
      if (std::isalpha(c)) cased = true;
      if (name == "lower" ? std::isupper(c) : std::islower(c)) ok = false;
    }
    return cased && ok;
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {  // value % n as Python computes it
    Value n = name == "divisibleby" ? a.get(0, "num") : Value(2);
    Value m = binary_op(in, "%", v, n, line);
    return name == "odd" ? m == Value(1) : m == Value(0);
  }
  if (name == "sameas") {
    Value o = a.get(0, "other");
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_bool() || v.is_int()) return v == o;
    return false;  // identity of other objects is not observable here
  }
  if (name == "in") return contains(a.get(0, "seq"), v, line);
  if (name == "filter") return has_filter(soft_str(v));
  if (name == "test") return has_test(soft_str(v));
  return compare_test(name, v, a.get(0, "other"), line);
}

void add_globals(Scope& scope) {
  scope.set("range", Value::func("range", [](Interpreter& in, Args& a) -> Value {
    for (const auto& p : a.pos)
      if (!p.is_int() && !p.is_bool()) fail(a.line, "range: '" + p.type_name() + "' object cannot be interpreted as an integer");
    int64_t start = 0, stop = 0, step = 1;
    if (a.pos.size() == 1) stop = a.pos[0].as_int();
    else if (a.pos.size() == 2 || a.pos.size() == 3) {
      start = a.pos[0].as_int();
      stop = a.pos[1].as_int();
      if (a.pos.size() == 3) step = a.pos[2].as_int();
    } else {
      fail(a.line, "range expected 1 to 3 arguments");
    }
    if (step == 0) fail(a.line, "range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.emplace_back(i);
      in.check_size(out.size() * 16, a.line);
    }
    return Value::view(std::move(out), "range");
  }));
  auto make_dict = [](Interpreter&, Args& a) -> Value {
    DictObj d;
    for (const auto& p : a.pos) {
      if (!p.is_dict()) unsupported(a.line, "positional arguments other than a dict");
      for (const auto& [k, v] : p.dict().items) d.set(k, v);
    }
    for (const auto& [k, v] : a.kw) d.set(Value(k), v);
    return Value::dict(std::move(d));
  };
  scope.set("dict", Value::func("dict", make_dict));
  scope.set("namespace", Value::func("namespace", [make_dict](Interpreter& in, Args& a) {
    return in.new_namespace(make_dict(in, a).dict());
  }));
  scope.set("raise_exception", Value::func("raise_exception", [](Interpreter&, Args& a) -> Value {
    throw Error(ErrorKind::InvalidArgument, "chat template: " + a.get(0, "message").to_str());
  }));
  scope.set("strftime_now", Value::func("strftime_now", [](Interpreter& in, Args& a) -> Value {
    std::string fmt = a.get(0, "format").to_str();
    std::time_t t = in.limits().now_unix >= 0 ? static_cast<std::time_t>(in.limits().now_unix) : std::time(nullptr);
    std::tm tm{};
    if (in.limits().now_unix >= 0) gmtime_r(&t, &tm);
    else localtime_r(&t, &tm);
    if (fmt.empty()) return Value("");
    char buf[512];
    size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
    if (n == 0) fail(a.line, "strftime_now: format too long or empty result");
    return Value(std::string(buf, n));
  }));
}

}  // namespace lp::chat
