#include "chat/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/errors.h"
#include "chat/text.h"

namespace lp::chat {

const Value* DictObj::find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

const Value* DictObj::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

void DictObj::set(Value key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(std::move(key), std::move(value));
}

int Value::depth() const {
  if (is_list()) return list().depth;
  if (is_dict()) return dict().depth;
  return 0;
}

static int nested_depth(int deepest) {
  if (deepest + 1 > kMaxValueDepth) fail(0, "lists or dicts nested more than " + std::to_string(kMaxValueDepth) + " deep");
  return deepest + 1;
}

Value Value::list(std::vector<Value> items, bool tuple) {
  int deepest = 0;
  for (const auto& v : items) deepest = std::max(deepest, v.depth());
  auto obj = std::make_shared<ListObj>();
  obj->items = std::move(items);
  obj->tuple = tuple;
  obj->depth = nested_depth(deepest);
  Value r;
  r.v_ = std::move(obj);
  return r;
}

Value Value::iterator(std::vector<Value> items, const char* type) {
  Value r = list(std::move(items));
  std::get<std::shared_ptr<ListObj>>(r.v_)->iterator = type;
  return r;
}

Value Value::broken_iterator(std::string error) {
  Value r = iterator({});
  std::get<std::shared_ptr<ListObj>>(r.v_)->broken = std::move(error);
  return r;
}

Value Value::view(std::vector<Value> items, const char* type) {
  Value r = list(std::move(items));
  std::get<std::shared_ptr<ListObj>>(r.v_)->view = type;
  return r;
}

Value Value::dict(DictObj d) {
  int deepest = 0;
  for (const auto& [k, v] : d.items) deepest = std::max(deepest, std::max(k.depth(), v.depth()));
  d.depth = nested_depth(deepest);
  Value r;
  r.v_ = std::make_shared<DictObj>(std::move(d));
  return r;
}

Value Value::func(std::string name, std::function<Value(Interpreter&, Args&)> fn) {
  Value r;
  r.v_ = std::make_shared<FuncObj>(FuncObj{std::move(name), std::move(fn)});
  return r;
}

Value Value::ns(DictObj attrs) {
  Value r;
  r.v_ = std::make_shared<NamespaceObj>(NamespaceObj{std::move(attrs)});
  return r;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      DictObj d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.items.emplace_back(Value(it.key()), from_json(it.value()));
      return dict(std::move(d));
    }
    default: return none();  // binary and discarded values do not occur in chat messages
  }
}

int64_t Value::as_int() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  return std::get<int64_t>(v_);
}

double Value::as_double() const {
  if (is_float()) return std::get<double>(v_);
  return static_cast<double>(as_int());
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return as_bool();
    case Kind::Int: return as_int() != 0;
    case Kind::Float: return as_double() != 0.0;
    case Kind::String: return !str().empty();
    case Kind::List: return list().iterator || !list().items.empty();
    case Kind::Dict: return !dict().items.empty();
    default: return true;
  }
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: fixed for 1e-4 <= |d| < 1e16.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  int exp = std::stoi(sci.substr(e + 1));
  std::string mant = sci.substr(0, e);
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char eb[16];
  std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return out + eb;
}

static std::string repr_string(const std::string& s) {
  char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, quote);
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = decode_utf8(s, i);
    char buf[16];
    if (cp == '\\') out += "\\\\";
    else if (cp == static_cast<uint32_t>(quote)) out += std::string("\\") + quote;
    else if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad) {
      std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      out += buf;
    } else {
      out.append(s, start, i - start);
    }
  }
  out += quote;
  return out;
}

std::string Value::repr() const {
  if (is_string()) return repr_string(str());
  if (is_undefined()) return "Undefined";
  return to_str();
}

std::string Value::to_str() const {
  // Namespaces are mutable and may contain themselves; Python prints such cycles as "...",
  // llamaprof refuses them.
  thread_local int nesting = 0;
  struct Guard {
    Guard() {
      if (++nesting > kMaxValueDepth + 10) {
        nesting = 0;
        fail(0, "value nested too deeply to print (a namespace that contains itself?)");
      }
    }
    ~Guard() { if (nesting > 0) --nesting; }
  } guard;
  switch (kind()) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(as_int());
    case Kind::Float: return float_repr(as_double());
    case Kind::String: return str();
    case Kind::List: {
      const auto& l = list();
      if (l.iterator) unsupported(0, std::string("printing a ") + l.iterator + " object");
      if (l.is_range()) unsupported(0, "printing a range object");
      std::string out = l.view ? std::string(l.view) + "([" : l.tuple ? "(" : "[";
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        out += l.items[i].repr();
      }
      if (l.tuple && l.items.size() == 1) out += ",";
      return out + (l.view ? "])" : l.tuple ? ")" : "]");
    }
    case Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : dict().items) {
        if (!first) out += ", ";
        first = false;
        out += k.repr() + ": " + v.repr();
      }
      return out + "}";
    }
    case Kind::Func: return "<function " + func().name + ">";
    case Kind::Namespace: {
      std::string out = "<Namespace {";
      bool first = true;
      for (const auto& [k, v] : ns().attrs.items) {
        if (!first) out += ", ";
        first = false;
        out += k.repr() + ": " + v.repr();
      }
      return out + "}>";
    }
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::Undefined: return "Undefined";
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return list().iterator ? list().iterator : list().view ? list().view : list().tuple ? "tuple" : "list";
    case Kind::Dict: return "dict";
    case Kind::Func: return "function";
    case Kind::Namespace: return "Namespace";
  }
  return "object";
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.str() == b.str();
    case Value::Kind::List: {
      const auto &x = a.list().items, &y = b.list().items;
      if (a.list().is_range() && b.list().is_range()) return x == y;  // ranges compare by their items
      if (!a.list().plain() || !b.list().plain()) return &a.list() == &b.list();
      if (a.list().tuple != b.list().tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!(x[i] == y[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const auto &x = a.dict(), &y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* o = y.find(k);
        if (!o || !(*o == v)) return false;
      }
      return true;
    }
    case Value::Kind::Func: return &a.func() == &b.func();
    case Value::Kind::Namespace: return &a.ns() == &b.ns();
    default: return false;
  }
}

bool less_than(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 byte order is code point order
  if (a.is_plain_list() && b.is_plain_list() && a.list().tuple == b.list().tuple) {
    // Python compares the first items that differ (by ==), so equal unorderable items are fine.
    const auto &x = a.list().items, &y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!(x[i] == y[i])) return less_than(x[i], y[i]);
    return x.size() < y.size();
  }
  fail(0, "'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  size_t i = 0;
  char buf[16];
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = decode_utf8(s, i);
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (cp < 0x20) {
          std::snprintf(buf, sizeof buf, "\\u%04x", cp);
          out += buf;
        } else if (ensure_ascii && cp > 0x7e) {
          if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", cp);
          }
          out += buf;
        } else {
          out.append(s, start, i - start);
        }
    }
  }
  out += '"';
}

static std::string json_key(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::String: return k.str();
    case Value::Kind::None: return "null";
    case Value::Kind::Bool: return k.as_bool() ? "true" : "false";
    case Value::Kind::Int: return std::to_string(k.as_int());
    case Value::Kind::Float: return float_repr(k.as_double());
    default: fail(0, "keys must be str, int, float, bool or None, not " + k.type_name());
  }
}

static void json_value(std::string& out, const Value& v, const JsonOptions& opt, int depth) {
  const std::string& item_sep = opt.has_separators ? opt.item_sep : (opt.indent >= 0 ? "," : ", ");
  const std::string& key_sep = opt.has_separators ? opt.key_sep : ": ";
  auto newline = [&](int level) {
    if (opt.indent < 0) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += opt.indent_str;
  };
  if (depth > 200) fail(0, "tojson: value nested too deeply");
  switch (v.kind()) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.as_int()); return;
    case Value::Kind::Float: {
      double d = v.as_double();
      if (std::isnan(d)) out += "NaN";
      else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
      else out += float_repr(d);
      return;
    }
    case Value::Kind::String: json_string(out, v.str(), opt.ensure_ascii); return;
    case Value::Kind::List: {
      if (!v.list().plain()) fail(0, "Object of type " + v.type_name() + " is not JSON serializable");
      const auto& items = v.list().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_value(out, items[i], opt, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (items.empty()) {
        out += "{}";
        return;
      }
      if (opt.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return less_than(a->first, b->first); });
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_string(out, json_key(items[i]->first), opt.ensure_ascii);
        out += key_sep;
        json_value(out, items[i]->second, opt, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    default: fail(0, "Object of type " + v.type_name() + " is not JSON serializable");
  }
}

std::string to_json(const Value& v, const JsonOptions& opt) {
  std::string out;
  json_value(out, v, opt, 0);
  return out;
}

const Value& Args::get(size_t index, std::string_view name) const {
  static const Value missing;  // references stay valid for the whole call
  if (index < pos.size()) return pos[index];
  for (const auto& [k, v] : kw)
    if (k == name) return v;
  return missing;
}

bool Args::has(size_t index, std::string_view name) const {
  if (index < pos.size()) return true;
  for (const auto& [k, v] : kw)
    if (k == name) return true;
  return false;
}

}  // namespace lp::chat
