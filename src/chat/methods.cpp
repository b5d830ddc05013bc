// Attribute and item lookup, Python's str/dict/list methods and the arithmetic operators, with
// the rules of jinja2's ImmutableSandboxedEnvironment (mutating methods are refused).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "chat/builtins.h"
#include "chat/errors.h"
#include "chat/eval.h"
#include "chat/text.h"

namespace lp::chat {

[[noreturn]] void fail_undefined(const Value& v, int line) {
  const std::string& hint = v.undefined_hint();
  fail(line, hint.empty() ? "undefined value used" : hint);
}

std::string cased(std::optional<std::string> mapped, int line) {
  if (!mapped) unsupported(line, "case mapping of letters beyond Latin, Greek and Cyrillic (or of ß, İ, Σ)");
  return std::move(*mapped);
}

static Value undefined_attr(const Value& obj, const std::string& name) {
  return Value::undefined(quote(obj.type_name() + " object") + " has no attribute '" + name + "'");
}

static const std::string* opt_string(const Value& v, const char* what, int line) {
  if (v.is_undefined() || v.is_none()) return nullptr;
  if (!v.is_string()) fail(line, std::string(what) + " must be a string, not " + v.type_name());
  return &v.str();
}

static int64_t opt_int(const Value& v, int64_t def, int line) {
  if (v.is_undefined() || v.is_none()) return def;
  if (!v.is_int() && !v.is_bool()) fail(line, "an integer is required, not " + v.type_name());
  return v.as_int();
}

static const std::string& need_string(const Value& v, const char* what, int line) {
  if (!v.is_string()) fail(line, std::string(what) + " must be a string, not " + v.type_name());
  return v.str();
}

// Byte offset -> code point index, for find()/index().
static int64_t cp_index(const std::string& s, size_t byte) {
  return static_cast<int64_t>(code_point_count(std::string_view(s).substr(0, byte)));
}

// str.format: {}, {0}, {name}, {{ and }}; conversions !s and !r; no format specs.
static std::string py_format(const std::string& fmt, const Args& a, int line) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
      else fail(line, "single '}' encountered in format string");
      out += '}';
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) fail(line, "single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    char conv = 's';
    size_t bang = field.find('!');
    if (field.find(':') != std::string::npos) unsupported(line, "format specs in str.format");
    if (bang != std::string::npos) {
      conv = bang + 1 < field.size() ? field[bang + 1] : 's';
      field.resize(bang);
    }
    Value v;
    if (field.empty()) {
      v = auto_index < a.pos.size() ? a.pos[auto_index] : Value::undefined();
      if (auto_index++ >= a.pos.size()) fail(line, "str.format: replacement index out of range");
    } else if (field.find_first_not_of("0123456789") == std::string::npos) {
      size_t k = field.size() > 9 ? a.pos.size() : std::stoul(field);
      if (k >= a.pos.size()) fail(line, "str.format: replacement index out of range");
      v = a.pos[k];
    } else {
      bool found = false;
      for (const auto& [name, val] : a.kw)
        if (name == field) {
          v = val;
          found = true;
        }
      if (!found) fail(line, "str.format: no argument named '" + field + "'");
    }
    out += conv == 'r' ? v.repr() : v.to_str();
  }
  return out;
}

static bool affix_match(const std::string& s, const Value& affix, bool prefix, int line) {
  auto one = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return prefix ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (affix.is_plain_list() && affix.list().tuple) {
    for (const auto& p : affix.list().items)
      if (one(need_string(p, "startswith/endswith argument", line))) return true;
    return false;
  }
  return one(need_string(affix, "startswith/endswith argument", line));
}

static Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.emplace_back(std::move(p));
  return Value::list(std::move(items));
}

// Python str methods llamaprof lacks: calling one is Unsupported, not "no attribute".
static const char* kOtherStrMethods[] = {"casefold", "center", "encode", "expandtabs", "format_map", "isascii",
                                         "isdecimal", "isidentifier", "isnumeric", "isprintable", "istitle",
                                         "ljust", "maketrans", "partition", "rjust", "rpartition", "swapcase",
                                         "translate", "zfill"};

static Value lacking_method(const Value& self, const std::string& name) {
  std::string what = "the " + self.type_name() + "." + name + "() method";
  return Value::func(self.type_name() + "." + name, [what](Interpreter&, Args& a) -> Value { unsupported(a.line, what); });
}

static Value string_method(const Value& self, const std::string& name) {
  static const char* known[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
                                "endswith", "replace", "upper", "lower", "title", "capitalize", "find", "rfind",
                                "index", "rindex", "count", "format", "join", "isdigit", "isalpha", "isalnum",
                                "isspace", "isupper", "islower", "removeprefix", "removesuffix"};
  bool ok = false;
  for (const char* k : known) ok = ok || name == k;
  for (const char* k : kOtherStrMethods)
    if (name == k) return lacking_method(self, name);
  if (!ok) return undefined_attr(self, name);
  return Value::func("str." + name, [self, name](Interpreter& in, Args& a) -> Value {
    const std::string& s = self.str();
    int line = a.line;
    if (name == "strip" || name == "lstrip" || name == "rstrip")
      return Value(py_strip(s, opt_string(a.get(0, "chars"), "strip argument", line), name != "rstrip",
                            name != "lstrip"));
    if (name == "split" || name == "rsplit") {
      const std::string* sep = opt_string(a.get(0, "sep"), "separator", line);
      if (sep && sep->empty()) fail(line, "empty separator");
      int64_t maxsplit = opt_int(a.get(1, "maxsplit"), -1, line);
      if (name == "rsplit" && !sep && maxsplit >= 0) unsupported(line, "str.rsplit() on whitespace with maxsplit");
      return string_list(name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit));
    }
    if (name == "splitlines") return string_list(py_splitlines(s));
    if (name == "startswith" || name == "endswith") return Value(affix_match(s, a.get(0, "prefix"), name == "startswith", line));
    if (name == "replace") {
      std::string r = py_replace(s, need_string(a.get(0, "old"), "replace argument", line),
                                 need_string(a.get(1, "new"), "replace argument", line), opt_int(a.get(2, "count"), -1, line));
      in.check_size(r.size(), line);
      return Value(std::move(r));
    }
    if (name == "removeprefix" || name == "removesuffix") {
      const std::string& affix = need_string(a.get(0, "prefix"), "removeprefix/removesuffix argument", line);
      if (!affix_match(s, Value(affix), name == "removeprefix", line)) return self;
      return Value(name == "removeprefix" ? s.substr(affix.size()) : s.substr(0, s.size() - affix.size()));
    }
    if (name == "upper") return Value(cased(py_upper(s), line));
    if (name == "lower") return Value(cased(py_lower(s), line));
    if (name == "title") return Value(cased(py_title(s), line));
    if (name == "capitalize") return Value(cased(py_capitalize(s), line));
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
      const std::string& sub = need_string(a.get(0, "sub"), "find argument", line);
      if (a.pos.size() > 1) unsupported(line, "start/end arguments of str." + name);
      size_t f = name[0] == 'r' || name == "rindex" ? s.rfind(sub) : s.find(sub);
      if (f == std::string::npos) {
        if (name == "index" || name == "rindex") fail(line, "substring not found");
        return Value(-1);
      }
      return Value(cp_index(s, f));
    }
    if (name == "count") {
      const std::string& sub = need_string(a.get(0, "sub"), "count argument", line);
      if (sub.empty()) return Value(static_cast<int64_t>(code_point_count(s)) + 1);
      int64_t n = 0;
      for (size_t f = s.find(sub); f != std::string::npos; f = s.find(sub, f + sub.size())) ++n;
      return Value(n);
    }
    if (name == "format") {
      std::string r = py_format(s, a, line);
      in.check_size(r.size(), line);
      return Value(std::move(r));
    }
    if (name == "join") {
      std::string r;
      bool first = true;
      for (const auto& v : iterate(a.get(0, "iterable"), line)) {
        if (!first) r += s;
        first = false;
        r += need_string(v, "sequence item", line);
        in.check_size(r.size(), line);
      }
      return Value(std::move(r));
    }
    for (unsigned char c : s)  // Python's is*() know Unicode categories; these checks know ASCII
      if (c >= 0x80) unsupported(line, "str." + name + "() on non-ASCII text");
    bool any = false, all = !s.empty();
    for (unsigned char c : s) {
      bool r = name == "isdigit" ? (c >= '0' && c <= '9')
             : name == "isalpha" ? std::isalpha(c) != 0
             : name == "isalnum" ? std::isalnum(c) != 0
             : name == "isspace" ? std::isspace(c) != 0
             : name == "isupper" ? !std::islower(c)
                                 : !std::isupper(c);
      if ((name == "isupper" && std::isupper(c)) || (name == "islower" && std::islower(c))) any = true;
      all = all && r;
    }
    if (name == "isupper" || name == "islower") return Value(all && any);
    return Value(all);
  });
}

static Value unsafe_method(const Value& self, const std::string& name) {
  std::string type = self.type_name();
  return Value::func(type + "." + name, [type, name](Interpreter&, Args& a) -> Value {
    fail(a.line, "access to attribute '" + name + "' of '" + type + "' object is unsafe");
  });
}

static Value dict_method(const Value& self, const std::string& name) {
  if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear")
    return unsafe_method(self, name);
  if (name != "items" && name != "keys" && name != "values" && name != "get" && name != "copy") return Value::undefined();
  return Value::func("dict." + name, [self, name](Interpreter&, Args& a) -> Value {
    const auto& d = self.dict();
    if (name == "get") {
      const Value* v = d.find(a.get(0, "key"));
      if (v) return *v;
      return a.has(1, "default") ? a.get(1, "default") : Value::none();
    }
    if (name == "copy") return self;
    std::vector<Value> out;
    out.reserve(d.items.size());
    for (const auto& [k, v] : d.items) {
      if (name == "items") out.push_back(Value::list({k, v}, true));
      else out.push_back(name == "keys" ? k : v);
    }
    return Value::view(std::move(out), name == "items" ? "dict_items" : name == "keys" ? "dict_keys" : "dict_values");
  });
}

static Value list_method(const Value& self, const std::string& name) {
  if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
      name == "reverse" || name == "sort" || name == "clear")
    return unsafe_method(self, name);
  if (name != "index" && name != "count" && name != "copy") return undefined_attr(self, name);
  return Value::func("list." + name, [self, name](Interpreter&, Args& a) -> Value {
    const auto& items = self.list().items;
    if (name == "copy") return Value::list(items);
    Value x = a.get(0, "value");
    int64_t n = 0;
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i] == x) {
        if (name == "index") return Value(static_cast<int64_t>(i));
        ++n;
      }
    if (name == "index") fail(a.line, x.repr() + " is not in list");
    return Value(n);
  });
}

Value get_attr(const Value& obj, const std::string& name, int line) {
  if (obj.is_undefined()) fail_undefined(obj, line);
  if (!name.empty() && name[0] == '_') return undefined_attr(obj, name);  // the sandbox hides private names
  switch (obj.kind()) {
    case Value::Kind::Dict: {
      Value m = dict_method(obj, name);
      if (!m.is_undefined()) return m;
      if (const Value* v = obj.dict().find(name)) return *v;
      return undefined_attr(obj, name);
    }
    case Value::Kind::Namespace:
      if (const Value* v = obj.ns().attrs.find(name)) return *v;
      return undefined_attr(obj, name);
    case Value::Kind::String: return string_method(obj, name);
    case Value::Kind::List:
      if (!obj.list().plain()) return undefined_attr(obj, name);
      return list_method(obj, name);
    default: return undefined_attr(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key, int line) {
  if (obj.is_undefined()) fail_undefined(obj, line);
  switch (obj.kind()) {
    case Value::Kind::Dict:
      if (const Value* v = obj.dict().find(key)) return *v;
      break;
    case Value::Kind::List:
      if (!obj.list().plain() && !obj.list().is_range()) break;  // iterators and views are not subscriptable
      [[fallthrough]];
    case Value::Kind::String:
      if (key.is_int() || key.is_bool()) {
        int64_t i = key.as_int();
        if (obj.is_list()) {
          auto n = static_cast<int64_t>(obj.list().items.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return obj.list().items[static_cast<size_t>(i)];
        } else {
          auto cps = code_points(obj.str());
          auto n = static_cast<int64_t>(cps.size());
          if (i < 0) i += n;
          if (i >= 0 && i < n) return Value(cps[static_cast<size_t>(i)]);
        }
        return Value::undefined(quote(obj.type_name() + " object") + " has no element " + std::to_string(key.as_int()));
      }
      break;
    default: break;
  }
  if (key.is_string()) return get_attr(obj, key.str(), line);
  return Value::undefined(quote(obj.type_name() + " object") + " has no element " + key.repr());
}

// Python slice indices for a sequence of length n.
static std::vector<size_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step, int line) {
  int64_t st = opt_int(step, 1, line);
  if (st == 0) fail(line, "slice step cannot be zero");
  auto clamp = [&](const Value& v, int64_t def) {
    if (v.is_none() || v.is_undefined()) return def;
    int64_t i = opt_int(v, 0, line);
    if (i < 0) i += n;
    if (st > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t b = clamp(start, st > 0 ? 0 : n - 1);
  int64_t e = clamp(stop, st > 0 ? n : -1);
  std::vector<size_t> out;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(static_cast<size_t>(i));
  return out;
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, int line) {
  if (obj.is_undefined()) fail_undefined(obj, line);
  if (obj.is_plain_list() || (obj.is_list() && obj.list().is_range())) {
    const auto& items = obj.list().items;
    std::vector<Value> out;
    for (size_t i : slice_indices(static_cast<int64_t>(items.size()), start, stop, step, line)) out.push_back(items[i]);
    if (obj.list().is_range()) return Value::view(std::move(out), "range");  // a slice of a range is a range
    return Value::list(std::move(out), obj.list().tuple);
  }
  if (obj.is_string()) {
    auto cps = code_points(obj.str());
    std::string out;
    for (size_t i : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step, line)) out += cps[i];
    return Value(std::move(out));
  }
  fail(line, quote(obj.type_name()) + " object is not subscriptable");
}

std::vector<Value> iterate(const Value& v, int line) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: {
      const ListObj& l = v.list();
      if (!l.broken.empty()) fail(line, l.broken);
      if (!l.iterator) return l.items;
      std::vector<Value> rest(l.items.begin() + static_cast<std::ptrdiff_t>(std::min(l.consumed, l.items.size())), l.items.end());
      l.consumed = l.items.size();
      return rest;
    }
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& [k, x] : v.dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> out;
      for (auto& c : code_points(v.str())) out.emplace_back(std::move(c));
      return out;
    }
    default: fail(line, quote(v.type_name()) + " object is not iterable");
  }
}

bool contains(const Value& container, const Value& item, int line) {
  switch (container.kind()) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (item.is_undefined()) fail_undefined(item, line);
      return container.str().find(need_string(item, "'in <string>' left operand", line)) != std::string::npos;
    case Value::Kind::List: {
      const ListObj& l = container.list();
      if (!l.broken.empty()) fail(line, l.broken);
      for (size_t i = l.iterator ? l.consumed : 0; i < l.items.size(); ++i)
        if (l.items[i] == item) {
          if (l.iterator) l.consumed = i + 1;
          return true;
        }
      if (l.iterator) l.consumed = l.items.size();
      return false;
    }
    case Value::Kind::Dict:
      if (item.is_list() || item.is_dict()) fail(line, "unhashable type: '" + item.type_name() + "'");
      return container.dict().find(item) != nullptr;
    default: fail(line, "argument of type '" + container.type_name() + "' is not iterable");
  }
}

int64_t length(const Value& v, int line) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return static_cast<int64_t>(code_point_count(v.str()));
    case Value::Kind::List:
      if (v.list().iterator) fail(line, "object of type '" + v.type_name() + "' has no len()");
      return static_cast<int64_t>(v.list().items.size());
    case Value::Kind::Dict: return static_cast<int64_t>(v.dict().items.size());
    default: fail(line, "object of type '" + v.type_name() + "' has no len()");
  }
}

// Python ints do not overflow; ours refuse to rather than wrap.
template <typename Op>
static int64_t checked(Op op, int64_t x, int64_t y, int line) {
  int64_t r = 0;
  if (op(x, y, &r)) unsupported(line, "integers beyond 64 bits");
  return r;
}
static bool add_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }
static bool sub_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }
static bool mul_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }

static Value repeat(Interpreter& in, const Value& seq, int64_t n, int line) {
  if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.list().tuple);
  if (seq.is_string()) {
    in.check_size(seq.str().size() * static_cast<size_t>(std::min<int64_t>(n, 1 << 30)), line);
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value(std::move(out));
  }
  in.check_size(seq.list().items.size() * static_cast<size_t>(std::min<int64_t>(n, 1 << 30)) * 16, line);
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().items.begin(), seq.list().items.end());
  return Value::list(std::move(out), seq.list().tuple);
}

Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "~") {
    for (const Value* v : {&a, &b})
      if (v->is_list() && v->list().iterator) unsupported(line, std::string("printing a ") + v->list().iterator + " object");
    std::string s = a.to_str() + b.to_str();
    in.check_size(s.size(), line);
    return Value(std::move(s));
  }
  if (op == "%" && a.is_string()) unsupported(line, "printf-style '%' string formatting");
  if (a.is_undefined()) fail_undefined(a, line);
  if (b.is_undefined()) fail_undefined(b, line);
  auto type_error = [&]() -> Value {
    fail(line, "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  };
  if (a.is_number() && b.is_number()) {
    bool flt = a.is_float() || b.is_float();
    int64_t x = flt ? 0 : a.as_int(), y = flt ? 0 : b.as_int();
    double fx = a.as_double(), fy = b.as_double();
    if (op == "+") return flt ? Value(fx + fy) : Value(checked(add_ovf, x, y, line));
    if (op == "-") return flt ? Value(fx - fy) : Value(checked(sub_ovf, x, y, line));
    if (op == "*") return flt ? Value(fx * fy) : Value(checked(mul_ovf, x, y, line));
    if (op == "/") {
      if (fy == 0) fail(line, "division by zero");
      return Value(fx / fy);
    }
    if (op == "//" || op == "%") {
      if (flt ? fy == 0 : y == 0) fail(line, op == "%" ? "modulo by zero" : "integer division or modulo by zero");
      if (flt) {
        double m = std::fmod(fx, fy);
        if (m != 0 && ((m < 0) != (fy < 0))) m += fy;
        return op == "%" ? Value(m) : Value(std::floor(fx / fy));
      }
      if (x == INT64_MIN && y == -1) unsupported(line, "integers beyond 64 bits");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        m += y;
        --q;
      }
      return op == "%" ? Value(m) : Value(q);
    }
    if (op == "**") {
      if (!flt && y >= 0) {
        int64_t result = 1, base = x;
        for (int64_t e = y; e > 0; e >>= 1) {
          if (e & 1) result = checked(mul_ovf, result, base, line);
          if (e > 1) base = checked(mul_ovf, base, base, line);
        }
        return Value(result);
      }
      if (fx == 0 && fy < 0) fail(line, "0.0 cannot be raised to a negative power");
      return Value(std::pow(fx, fy));
    }
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      in.check_size(a.str().size() + b.str().size(), line);
      if (a.is_markup() != b.is_markup())  // Markup + str escapes the str, either side
        return Value::markup(a.is_markup() ? a.str() + html_escape(b.str()) : html_escape(a.str()) + b.str());
      if (a.is_markup()) return Value::markup(a.str() + b.str());
      return Value(a.str() + b.str());
    }
    if (a.is_plain_list() && b.is_plain_list() && a.list().tuple == b.list().tuple) {
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      in.check_size(items.size() * 16, line);
      return Value::list(std::move(items), a.list().tuple);
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_plain_list()) && (b.is_int() || b.is_bool())) return repeat(in, a, b.as_int(), line);
    if ((b.is_string() || b.is_plain_list()) && (a.is_int() || a.is_bool())) return repeat(in, b, a.as_int(), line);
  }
  if (op == "%" && a.is_string()) unsupported(line, "printf-style '%' string formatting");
  return type_error();
}

}  // namespace lp::chat
