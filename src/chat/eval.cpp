#include "chat/eval.h"

#include "chat/builtins.h"
#include "chat/errors.h"

namespace lp::chat {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get())
    for (const auto& [k, v] : s->vars)
      if (k == name) return &v;
  return nullptr;
}

void Scope::set(const std::string& name, Value v) {
  for (auto& [k, old] : vars)
    if (k == name) {
      old = std::move(v);
      return;
    }
  vars.emplace_back(name, std::move(v));
}

static std::shared_ptr<Scope> child(const std::shared_ptr<Scope>& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

std::string Interpreter::render(const Body& body, const Value& context) {
  auto globals = std::make_shared<Scope>();
  add_globals(*globals);
  auto top = child(globals);
  if (context.is_dict())
    for (const auto& [k, v] : context.dict().items)
      if (k.is_string()) top->set(k.str(), v);
  std::string out;
  out_ = &out;
  exec(body, top);
  out_ = nullptr;
  return out;
}

Interpreter::~Interpreter() {
  for (auto& ns : namespaces_) ns.ns().attrs.items.clear();
}

Value Interpreter::new_namespace(DictObj attrs) {
  Value v = Value::ns(std::move(attrs));
  namespaces_.push_back(v);
  return v;
}

void Interpreter::enter(int line) {
  if (++depth_ > limits_.max_depth) {
    --depth_;
    fail(line, "macro calls or recursive loops nested deeper than " + std::to_string(limits_.max_depth));
  }
}

void Interpreter::step(int line) {
  if (++steps_ > limits_.max_steps)
    fail(line, "template ran for more than " + std::to_string(limits_.max_steps) + " steps");
}

void Interpreter::check_size(size_t bytes, int line) const {
  if (bytes > limits_.max_output)
    fail(line, "output or string longer than " + std::to_string(limits_.max_output) + " bytes");
}

void Interpreter::write(const std::string& s, int line) {
  check_size(out_->size() + s.size(), line);
  out_->append(s);
}

Interpreter::Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope) {
  for (const auto& s : body) {
    Flow f = exec(*s, scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

std::string Interpreter::capture(const Body& body, const std::shared_ptr<Scope>& scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    exec(body, scope);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buf;
}

void Interpreter::assign(const Expr& target, const Value& v, Scope& scope, const std::shared_ptr<Scope>& lookup) {
  if (target.kind == Expr::Kind::Name) {
    scope.set(target.name, v);
  } else if (target.kind == Expr::Kind::Tuple) {
    std::vector<Value> items = iterate(v, target.line);
    if (items.size() != target.args.size())
      fail(target.line, "cannot unpack " + std::to_string(items.size()) + " values into " +
                            std::to_string(target.args.size()) + " names");
    for (size_t i = 0; i < items.size(); ++i) assign(*target.args[i], items[i], scope, lookup);
  } else {  // ns.attr = v
    const Value* ns = lookup->find(target.args[0]->name);
    if (!ns || !ns->is_namespace()) fail(target.line, "cannot assign attribute on non-namespace object");
    ns->ns().attrs.set(Value(target.name), v);
  }
}

Interpreter::Flow Interpreter::exec(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  step(s.line);
  switch (s.kind) {
    case Stmt::Kind::Text: write(s.text, s.line); break;
    case Stmt::Kind::Output: {
      Value v = eval(*s.expr, scope);
      if (v.is_list() && (v.list().iterator || v.list().is_range()))
        unsupported(s.line, std::string("printing a ") + (v.list().iterator ? v.list().iterator : "range") + " object");
      write(v.to_str(), s.line);
      break;
    }
    case Stmt::Kind::If:
      for (size_t i = 0; i < s.conds.size(); ++i)
        if (eval(*s.conds[i], scope).truthy()) return exec(s.bodies[i], scope);
      return exec(s.else_body, scope);
    case Stmt::Kind::For: exec_for(s, scope, eval(*s.expr, scope), 0); break;
    case Stmt::Kind::Set: assign(*s.target, eval(*s.expr, scope), *scope, scope); break;
    case Stmt::Kind::SetBlock: {
      Value v(capture(s.body, child(scope)));
      if (s.expr) v = eval(*s.expr, scope, &v);
      scope->set(s.target->name, v);
      break;
    }
    case Stmt::Kind::Macro: scope->set(s.macro->name, make_macro(s.macro, scope)); break;
    case Stmt::Kind::CallBlock: {
      const Expr& call = *s.expr;
      Value callee = eval(*call.args[0], scope);
      Args args = eval_args(call, 1, scope);
      args.kw.emplace_back("caller", make_macro(s.macro, scope));
      write(this->call(callee, args, s.line).to_str(), s.line);
      break;
    }
    case Stmt::Kind::FilterBlock: {
      Value v(capture(s.body, child(scope)));
      if (s.expr) v = eval(*s.expr, scope, &v);
      write(v.to_str(), s.line);
      break;
    }
    case Stmt::Kind::Break: return Flow::Break;
    case Stmt::Kind::Continue: return Flow::Continue;
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, const Value& iterable, int depth) {
  std::vector<Value> all = iterate(iterable, s.line);
  auto loop_scope = child(scope);
  std::vector<Value> items;
  if (s.cond) {
    for (auto& v : all) {
      step(s.line);
      assign(*s.target, v, *loop_scope, loop_scope);
      if (eval(*s.cond, loop_scope).truthy()) items.push_back(std::move(v));
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) {
    exec(s.else_body, loop_scope);
    return;
  }
  const auto n = static_cast<int64_t>(items.size());
  Value recurse;
  if (s.recursive)
    recurse = Value::func("loop", [this, &s, weak = std::weak_ptr<Scope>(scope), depth](Interpreter&, Args& a) {
      auto scope = weak.lock();
      if (!scope) fail(a.line, "a recursive loop called after it ended");
      enter(a.line);
      std::string buf;
      std::string* saved = out_;
      out_ = &buf;
      try {
        exec_for(s, scope, a.get(0, "iterable"), depth + 1);
      } catch (...) {
        out_ = saved;
        leave();
        throw;
      }
      out_ = saved;
      leave();
      return Value(std::move(buf));
    });
  const Value changed =
      Value::func("changed", [](Interpreter&, Args& a) -> Value { unsupported(a.line, "loop.changed()"); });
  for (int64_t i = 0; i < n; ++i) {
    step(s.line);
    assign(*s.target, items[static_cast<size_t>(i)], *loop_scope, loop_scope);
    DictObj loop;
    loop.items.reserve(14);
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(depth + 1));
    loop.set("depth0", Value(depth));
    if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.set("cycle", Value::func("cycle", [i](Interpreter&, Args& a) {
      if (a.pos.empty()) fail(a.line, "no items for cycling given");
      return a.pos[static_cast<size_t>(i) % a.pos.size()];
    }));
    if (s.recursive) loop.set("__call__", recurse);
    loop.set("changed", changed);
    loop_scope->set("loop", Value::dict(std::move(loop)));
    if (exec(s.body, loop_scope) == Flow::Break) break;
  }
}

Value Interpreter::make_macro(std::shared_ptr<Macro> m, std::shared_ptr<Scope> closure) {
  // The macro lives in the scope it closes over, so it holds that scope weakly (no cycle).
  return Value::func(m->name, [this, m, weak = std::weak_ptr<Scope>(closure)](Interpreter&, Args& a) {
    auto closure = weak.lock();
    if (!closure) fail(a.line, "macro '" + m->name + "' called after its scope ended");
    enter(a.line);
    auto scope = child(closure);
    size_t np = m->params.size();
    std::vector<Value> varargs;
    for (size_t i = 0; i < a.pos.size(); ++i) {
      if (i < np) scope->set(m->params[i].first, a.pos[i]);
      else varargs.push_back(a.pos[i]);
    }
    DictObj kwargs;
    for (auto& [k, v] : a.kw) {
      bool param = k == "caller";
      for (const auto& p : m->params) param = param || p.first == k;
      if (param) scope->set(k, v);
      else kwargs.set(Value(k), v);
    }
    for (size_t i = a.pos.size(); i < np; ++i) {
      const auto& [name, def] = m->params[i];
      bool given = false;
      for (const auto& kv : a.kw) given = given || kv.first == name;
      if (!given) scope->set(name, def ? eval(*def, scope) : Value::undefined(name));
    }
    scope->set("varargs", Value::list(std::move(varargs), true));  // a tuple, as in jinja2
    scope->set("kwargs", Value::dict(std::move(kwargs)));
    std::string out;
    try {
      out = capture(m->body, scope);
    } catch (...) {
      leave();
      throw;
    }
    leave();
    return Value(std::move(out));
  });
}

Value Interpreter::call(const Value& callee, Args& args, int line) {
  step(line);
  args.line = line;
  if (callee.is_func()) return callee.func().fn(*this, args);
  if (callee.is_dict())
    if (const Value* f = callee.dict().find("__call__")) return f->func().fn(*this, args);  // recursive loop()
  if (callee.is_undefined()) fail_undefined(callee, line);
  fail(line, quote(callee.type_name()) + " object is not callable");
}

Args Interpreter::eval_args(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope) {
  Args a;
  a.line = e.line;
  for (size_t i = first; i < e.args.size(); ++i) a.pos.push_back(eval(*e.args[i], scope));
  for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v, scope));
  return a;
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope, const Value* filter_input) {
  switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a, scope));
      return Value::list(std::move(items), e.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
      DictObj d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) d.set(eval(*e.args[i], scope), eval(*e.args[i + 1], scope));
      return Value::dict(std::move(d));
    }
    case Expr::Kind::Attr: return get_attr(eval(*e.args[0], scope), e.name, e.line);
    case Expr::Kind::Item: return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope), e.line);
    case Expr::Kind::Slice: {
      Value obj = eval(*e.args[0], scope);
      Value parts[3];
      for (int k = 0; k < 3; ++k) parts[k] = e.args[1 + k] ? eval(*e.args[1 + k], scope) : Value::none();
      return get_slice(obj, parts[0], parts[1], parts[2], e.line);
    }
    case Expr::Kind::Call: {
      Value callee = eval(*e.args[0], scope);
      Args a = eval_args(e, 1, scope);
      return call(callee, a, e.line);
    }
    case Expr::Kind::Filter: {
      Value input = e.args[0] ? eval(*e.args[0], scope, filter_input) : (filter_input ? *filter_input : Value());
      Args a = eval_args(e, 1, scope);
      step(e.line);
      return apply_filter(*this, e.name, input, a, e.line);
    }
    case Expr::Kind::Test: {
      Value input = eval(*e.args[0], scope);
      Args a = eval_args(e, 1, scope);
      return Value(apply_test(*this, e.name, input, a, e.line) != e.negated);
    }
    case Expr::Kind::Not: return Value(!eval(*e.args[0], scope).truthy());
    case Expr::Kind::Neg:
    case Expr::Kind::Pos: {
      Value v = eval(*e.args[0], scope);
      if (v.is_undefined()) fail_undefined(v, e.line);
      if (!v.is_number()) fail(e.line, "bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + v.type_name() + "'");
      if (e.kind == Expr::Kind::Pos) return v.is_bool() ? Value(v.as_int()) : v;
      if (v.is_float()) return Value(-v.as_double());
      if (v.as_int() == INT64_MIN) fail(e.line, "integer overflow");
      return Value(-v.as_int());
    }
    case Expr::Kind::Binary: return eval_binary(e, scope);
    case Expr::Kind::Compare: return eval_compare(e, scope);
    case Expr::Kind::Cond:
      if (eval(*e.args[1], scope).truthy()) return eval(*e.args[0], scope);
      return e.args[2] ? eval(*e.args[2], scope) : Value::undefined("the inline if's missing else");
  }
  return Value::undefined();
}

Value Interpreter::eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope) {
  if (e.name == "and") {
    Value a = eval(*e.args[0], scope);
    return a.truthy() ? eval(*e.args[1], scope) : a;
  }
  if (e.name == "or") {
    Value a = eval(*e.args[0], scope);
    return a.truthy() ? a : eval(*e.args[1], scope);
  }
  Value a = eval(*e.args[0], scope);
  Value b = eval(*e.args[1], scope);
  return binary_op(*this, e.name, a, b, e.line);
}

Value Interpreter::eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value left = eval(*e.args[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1], scope);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") r = left == right;
    else if (op == "!=") r = !(left == right);
    else if (op == "in") r = contains(right, left, e.line);
    else if (op == "notin") r = !contains(right, left, e.line);
    else {
      if (left.is_undefined()) fail_undefined(left, e.line);
      if (right.is_undefined()) fail_undefined(right, e.line);
      try {
        if (op == "<") r = less_than(left, right);
        else if (op == ">") r = less_than(right, left);
        else if (op == "<=") r = !less_than(right, left);
        else r = !less_than(left, right);
      } catch (const Error& err) {
        fail(e.line, std::string(err.what()).substr(15));  // drop "chat template: "
      }
    }
    if (!r) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace lp::chat
