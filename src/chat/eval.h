// Runs a parsed template over a context, with jinja2's scoping (for-loops and macros open a scope,
// if-blocks do not) and limits on output size, steps and call depth so no template can hang.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/ast.h"
#include "chat/value.h"

namespace lp::chat {

struct Limits {
  size_t max_output = 16u << 20;  // bytes of any one string or the whole output
  int64_t max_steps = 20'000'000;  // statements, loop iterations and calls
  int max_depth = 200;            // nested macro calls
  int64_t now_unix = -1;          // strftime_now's clock (UTC); < 0: local time now
};

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
  void set(const std::string& name, Value v);
};

class Interpreter {
 public:
  explicit Interpreter(Limits limits) : limits_(limits) {}
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders `body` with the variables of `context` (a dict) over the built-in globals.
  std::string render(const Body& body, const Value& context);

  // Used by the built-ins.
  Value call(const Value& callee, Args& args, int line);
  void check_size(size_t bytes, int line) const;
  Value new_namespace(DictObj attrs);  // owned here, so cycles through namespaces are freed
  const Limits& limits() const { return limits_; }

 private:
  enum class Flow { Normal, Break, Continue };

  Limits limits_;
  std::string* out_ = nullptr;
  int64_t steps_ = 0;
  int depth_ = 0;
  std::vector<Value> namespaces_;

  void step(int line);
  void enter(int line);  // one level of macro call or recursive loop; leave() undoes it
  void leave() { --depth_; }
  void write(const std::string& s, int line);
  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope);
  Flow exec(const Stmt& s, const std::shared_ptr<Scope>& scope);
  void exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, const Value& iterable, int depth);
  std::string capture(const Body& body, const std::shared_ptr<Scope>& scope);
  void assign(const Expr& target, const Value& v, Scope& scope, const std::shared_ptr<Scope>& lookup);
  Value make_macro(std::shared_ptr<Macro> m, std::shared_ptr<Scope> closure);
  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope, const Value* filter_input = nullptr);
  Value eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope);
  Args eval_args(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope);
};

}  // namespace lp::chat
