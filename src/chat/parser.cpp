#include "chat/parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/builtins.h"
#include "chat/errors.h"
#include "chat/lexer.h"

namespace lp::chat {
namespace {

constexpr int kMaxNesting = 200;  // deeper expressions or blocks are refused, not a stack overflow
constexpr int kMaxExprDepth = 300;  // also for chains like a ~ b ~ c ..., which loop, not recurse

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body parse_all() {
    Body body = parse_body({});
    return body;
  }

 private:
  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.error("template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return t_[p_]; }
  const Token& peek(size_t k = 1) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  Token next() { return p_ + 1 < t_.size() ? t_[p_++] : t_[p_]; }

  [[noreturn]] void error(const std::string& message) const {
    const Token& t = cur();
    throw Error(ErrorKind::InvalidArgument, "chat template: syntax error at line " + std::to_string(t.line) +
                                                ", column " + std::to_string(t.col) + ": " + message);
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::Text: return "text";
      case Tok::VarBegin: return "'{{'";
      case Tok::VarEnd: return "'}}'";
      case Tok::BlockBegin: return "'{%'";
      case Tok::BlockEnd: return "'%}'";
      case Tok::Name: return "'" + t.text + "'";
      case Tok::String: return "string";
      case Tok::Int:
      case Tok::Float: return "number";
      case Tok::Op: return "'" + t.text + "'";
      case Tok::Eof: return "end of template";
    }
    return "token";
  }

  bool is_op(const char* op) const { return cur().type == Tok::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }
  void expect_op(const char* op) {
    if (!is_op(op)) error(std::string("expected '") + op + "', got " + describe(cur()));
    next();
  }
  void expect_name(const char* name) {
    if (!is_name(name)) error(std::string("expected '") + name + "', got " + describe(cur()));
    next();
  }
  std::string expect_identifier() {
    if (cur().type != Tok::Name) error("expected a name, got " + describe(cur()));
    return next().text;
  }
  void expect_block_end() {
    if (cur().type != Tok::BlockEnd) error("expected '%}', got " + describe(cur()));
    next();
  }

  static ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  // Records the subtree's height once its children are in place; evaluating and freeing the
  // tree recurse that deep.
  ExprPtr seal(ExprPtr e) {
    int d = 0;
    for (const auto& a : e->args)
      if (a) d = std::max(d, a->depth);
    for (const auto& kv : e->kwargs) d = std::max(d, kv.second->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) error("expression nested too deeply");
    return e;
  }
  static StmtPtr make_stmt(Stmt::Kind kind, int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = line;
    return s;
  }

  // Statements until a {% NAME %} with NAME in `ends`; leaves cur() at that NAME.
  Body parse_body(std::initializer_list<const char*> ends) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::Eof) {
        if (ends.size() == 0) return body;
        error(std::string("unexpected end of template, expected '") + *ends.begin() + "'");
      }
      if (t.type == Tok::Text) {
        auto s = make_stmt(Stmt::Kind::Text, t.line);
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == Tok::VarBegin) {
        int line = next().line;
        auto s = make_stmt(Stmt::Kind::Output, line);
        s->expr = parse_tuple(false, true, {}, false);
        if (cur().type != Tok::VarEnd) error("expected '}}', got " + describe(cur()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::BlockBegin) {
        next();
        if (cur().type != Tok::Name) error("expected a statement name, got " + describe(cur()));
        for (const char* e : ends)
          if (cur().text == e) return body;
        body.push_back(parse_statement());
      } else {
        error("unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& t = cur();
    const std::string& w = t.text;
    int line = t.line;
    if (w == "if") return parse_if();
    if (w == "for") return parse_for();
    if (w == "set") return parse_set();
    if (w == "macro") return parse_macro();
    if (w == "call") return parse_call_block();
    if (w == "filter") return parse_filter_block();
    if (w == "generation") {
      // transformers' AssistantTracker tag: renders its body (in a call-block scope).
      next();
      expect_block_end();
      auto s = make_stmt(Stmt::Kind::FilterBlock, line);
      s->body = parse_body({"endgeneration"});
      next();
      expect_block_end();
      return s;
    }
    if (w == "break" || w == "continue") {
      next();
      expect_block_end();
      return make_stmt(w == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, line);
    }
    if (w == "extends" || w == "block" || w == "include" || w == "import" || w == "from" || w == "with" ||
        w == "autoescape")
      unsupported(line, "the '" + w + "' tag");
    error("unknown tag '" + w + "'");
  }

  StmtPtr parse_if() {
    auto s = make_stmt(Stmt::Kind::If, next().line);
    while (true) {
      s->conds.push_back(parse_tuple(false, false, {}, false));
      expect_block_end();
      s->bodies.push_back(parse_body({"elif", "else", "endif"}));
      std::string w = next().text;
      if (w == "elif") continue;
      if (w == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"});
        next();
      }
      expect_block_end();
      return s;
    }
  }

  StmtPtr parse_for() {
    auto s = make_stmt(Stmt::Kind::For, next().line);
    s->target = parse_assign_target({"in"});
    expect_name("in");
    s->expr = parse_tuple(false, false, {"recursive"}, false);
    if (is_name("if")) {
      next();
      s->cond = parse_expression(true);
    }
    if (is_name("recursive")) {
      next();
      s->recursive = true;
    }
    expect_block_end();
    s->body = parse_body({"endfor", "else"});
    if (next().text == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"});
      next();
    }
    expect_block_end();
    return s;
  }

  ExprPtr parse_assign_target(std::initializer_list<const char*> extra_end) {
    int line = cur().line;
    ExprPtr target;
    if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == ".") {
      auto ns = make(Expr::Kind::Name, line);
      ns->name = next().text;
      next();
      auto attr = make(Expr::Kind::Attr, line);
      attr->name = expect_identifier();
      attr->args.push_back(std::move(ns));
      return attr;
    }
    target = parse_tuple(true, false, extra_end, false);
    auto check = [&](const Expr& e) {
      if (e.kind != Expr::Kind::Name) error("can't assign to this expression");
      if (e.name == "true" || e.name == "false" || e.name == "none" || e.name == "True" || e.name == "False" ||
          e.name == "None")
        error("can't assign to '" + e.name + "'");
    };
    if (target->kind == Expr::Kind::Tuple) {
      for (const auto& a : target->args) check(*a);
    } else {
      check(*target);
    }
    return target;
  }

  StmtPtr parse_set() {
    int line = next().line;
    ExprPtr target = parse_assign_target({});
    if (is_op("=")) {
      next();
      auto s = make_stmt(Stmt::Kind::Set, line);
      s->target = std::move(target);
      s->expr = parse_tuple(false, true, {}, false);
      expect_block_end();
      return s;
    }
    if (target->kind != Expr::Kind::Name) error("expected '=' after a set target");
    auto s = make_stmt(Stmt::Kind::SetBlock, line);
    s->target = std::move(target);
    if (is_op("|")) s->expr = parse_filter_chain(nullptr);
    expect_block_end();
    s->body = parse_body({"endset"});
    next();
    expect_block_end();
    return s;
  }

  std::shared_ptr<Macro> parse_signature(std::string name) {
    auto m = std::make_shared<Macro>();
    m->name = std::move(name);
    expect_op("(");
    while (!is_op(")")) {
      if (!m->params.empty()) expect_op(",");
      if (is_op(")")) break;
      std::string param = expect_identifier();
      ExprPtr def;
      if (is_op("=")) {
        next();
        def = parse_expression(true);
      } else if (!m->params.empty() && m->params.back().second) {
        error("non-default argument follows default argument");
      }
      m->params.emplace_back(std::move(param), std::move(def));
    }
    next();
    return m;
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(Stmt::Kind::Macro, next().line);
    s->macro = parse_signature(expect_identifier());
    expect_block_end();
    s->macro->body = parse_body({"endmacro"});
    next();
    expect_block_end();
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = make_stmt(Stmt::Kind::CallBlock, next().line);
    s->macro = is_op("(") ? parse_signature("caller") : std::make_shared<Macro>();
    s->macro->name = "caller";
    s->expr = parse_expression(true);
    if (s->expr->kind != Expr::Kind::Call) error("expected a call after 'call'");
    expect_block_end();
    s->macro->body = parse_body({"endcall"});
    next();
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = make_stmt(Stmt::Kind::FilterBlock, next().line);
    s->expr = parse_filter_chain(nullptr, true);
    expect_block_end();
    s->body = parse_body({"endfilter"});
    next();
    expect_block_end();
    return s;
  }

  bool is_tuple_end(std::initializer_list<const char*> extra_end) const {
    const Token& t = cur();
    if (t.type == Tok::VarEnd || t.type == Tok::BlockEnd || t.type == Tok::Eof) return true;
    if (t.type == Tok::Op && t.text == ")") return true;
    if (t.type == Tok::Name)
      for (const char* e : extra_end)
        if (t.text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<const char*> extra_end,
                      bool explicit_parens) {
    int line = cur().line;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      if (simplified) items.push_back(parse_primary());
      else items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error("expected an expression, got " + describe(cur()));
    }
    auto e = make(Expr::Kind::Tuple, line);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto c = make(Expr::Kind::Cond, line);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      if (is_name("else")) {
        next();
        c->args.push_back(parse_condexpr());
      } else {
        c->args.push_back(nullptr);
      }
      e = seal(std::move(c));
    }
    return e;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, int line) {
    auto b = make(Expr::Kind::Binary, line);
    b->name = op;
    b->args.push_back(std::move(left));
    b->args.push_back(std::move(right));
    return seal(std::move(b));
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = next().line;
      e = binary("or", std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = next().line;
      e = binary("and", std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto n = make(Expr::Kind::Not, next().line);
      n->args.push_back(parse_not());
      return seal(std::move(n));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == Tok::Name && peek().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::Kind::Compare, line);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? seal(std::move(cmp)) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      Token t = next();
      e = binary(t.text, std::move(e), parse_concat(), t.line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      e = binary("~", std::move(e), parse_math2(), line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Token t = next();
      e = binary(t.text, std::move(e), parse_pow(), t.line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      e = binary("**", std::move(e), parse_unary(true), line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      Token t = next();
      e = make(t.text == "-" ? Expr::Kind::Neg : Expr::Kind::Pos, t.line);
      e->args.push_back(parse_unary(false));
      e = seal(std::move(e));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() { return seal(parse_primary_node()); }

  ExprPtr parse_primary_node() {
    DepthGuard guard(*this);
    const Token& t = cur();
    int line = t.line;
    if (t.type == Tok::Name) {
      std::string n = next().text;
      auto e = make(Expr::Kind::Literal, line);
      if (n == "true" || n == "True") e->value = Value(true);
      else if (n == "false" || n == "False") e->value = Value(false);
      else if (n == "none" || n == "None") e->value = Value::none();
      else {
        e->kind = Expr::Kind::Name;
        e->name = n;
      }
      return e;
    }
    if (t.type == Tok::String) {
      std::string s;
      while (cur().type == Tok::String) s += next().text;  // adjacent literals concatenate
      auto e = make(Expr::Kind::Literal, line);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Tok::Int || t.type == Tok::Float) {
      Token n = next();
      auto e = make(Expr::Kind::Literal, line);
      e->value = n.type == Tok::Int ? Value(n.ival) : Value(n.fval);
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(false, true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      auto e = make(Expr::Kind::List, line);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    if (is_op("{")) {
      next();
      auto e = make(Expr::Kind::Dict, line);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression(true));
        expect_op(":");
        e->args.push_back(parse_expression(true));
      }
      next();
      return e;
    }
    error("unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        if (cur().type == Tok::Name) {
          auto a = make(Expr::Kind::Attr, line);
          a->name = next().text;
          a->args.push_back(std::move(e));
          e = seal(std::move(a));
        } else if (cur().type == Tok::Int) {
          auto a = make(Expr::Kind::Item, line);
          a->args.push_back(std::move(e));
          auto idx = make(Expr::Kind::Literal, line);
          idx->value = Value(next().ival);
          a->args.push_back(std::move(idx));
          e = seal(std::move(a));
        } else {
          error("expected an attribute name after '.'");
        }
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr e) {
    int line = next().line;
    ExprPtr parts[3];
    bool slice = false;
    for (int k = 0; k < 3; ++k) {
      if (!is_op(":") && !is_op("]")) parts[k] = parse_expression(true);
      if (k == 2 || !is_op(":")) break;
      next();
      slice = true;
    }
    if (is_op(",")) unsupported(line, "tuple subscripts");
    expect_op("]");
    if (!slice) {
      if (!parts[0]) error("expected a subscript");
      auto a = make(Expr::Kind::Item, line);
      a->args.push_back(std::move(e));
      a->args.push_back(std::move(parts[0]));
      return seal(std::move(a));
    }
    auto a = make(Expr::Kind::Slice, line);
    a->args.push_back(std::move(e));
    for (auto& p : parts) a->args.push_back(std::move(p));
    return seal(std::move(a));
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) unsupported(cur().line, "'*' or '**' argument unpacking");
      if (cur().type == Tok::Name && peek().type == Tok::Op && peek().text == "=") {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!call.kwargs.empty()) error("positional argument after a keyword argument");
        call.args.push_back(parse_expression(true));
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(Expr::Kind::Call, cur().line);
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return seal(std::move(c));
  }

  std::string dotted_name() {
    std::string n = expect_identifier();
    while (is_op(".") && peek().type == Tok::Name) {
      next();
      n += "." + next().text;
    }
    return n;
  }

  // `| name(args) | ...`; with start_inline the first filter has no leading pipe (filter blocks).
  ExprPtr parse_filter_chain(ExprPtr e, bool start_inline = false) {
    bool hard_check = start_inline;  // a filter block's filters are checked even inside an if
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      int line = cur().line;
      auto f = make(Expr::Kind::Filter, line);
      f->name = dotted_name();
      if (hard_check) check_filter(f->name, line);
      f->args.push_back(std::move(e));
      if (is_op("(")) parse_call_args(*f);
      e = seal(std::move(f));
    }
    return e;
  }

  void check_filter(const std::string& name, int line) {
    if (!has_filter(name) && !jinja2_has_filter(name))
      fail(line, "no filter named '" + name + "'");
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        e = parse_filter_chain(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_test(ExprPtr e) {
    int line = next().line;
    auto t = make(Expr::Kind::Test, line);
    if (is_name("not")) {
      next();
      t->negated = true;
    }
    t->name = dotted_name();
    t->args.push_back(std::move(e));
    const Token& c = cur();
    if (is_op("(")) {
      parse_call_args(*t);
    } else if ((c.type == Tok::Name || c.type == Tok::String || c.type == Tok::Int || c.type == Tok::Float ||
                (c.type == Tok::Op && (c.text == "[" || c.text == "{"))) &&
               !(c.type == Tok::Name && (c.text == "else" || c.text == "or" || c.text == "and"))) {
      if (is_name("is")) error("you cannot chain multiple tests with 'is'");
      t->args.push_back(parse_postfix(parse_primary()));
    }
    return seal(std::move(t));
  }
};

// jinja2 refuses unknown filters and tests when it compiles, except inside an if (or an inline
// if) of the current frame, where the error waits until the filter runs; loops, macros and
// block sets open a new frame.
void check_names(const Expr* e, bool soft) {
  if (!e) return;
  if (!soft && e->kind == Expr::Kind::Filter && !has_filter(e->name) && !jinja2_has_filter(e->name))
    fail(e->line, "no filter named '" + e->name + "'");
  if (!soft && e->kind == Expr::Kind::Test && !has_test(e->name) && !jinja2_has_test(e->name))
    fail(e->line, "no test named '" + e->name + "'");
  bool inner = soft || e->kind == Expr::Kind::Cond;
  for (const auto& a : e->args) check_names(a.get(), inner);
  for (const auto& kv : e->kwargs) check_names(kv.second.get(), inner);
}

void check_names(const Body& body, bool soft) {
  for (const auto& s : body) {
    check_names(s->expr.get(), soft);
    check_names(s->cond.get(), false);
    for (const auto& c : s->conds) check_names(c.get(), true);
    for (const auto& b : s->bodies) check_names(b, true);
    check_names(s->body, false);  // for, set and filter blocks open a frame
    check_names(s->else_body, s->kind == Stmt::Kind::If);
    if (s->macro) {
      for (const auto& p : s->macro->params) check_names(p.second.get(), false);
      check_names(s->macro->body, false);
    }
  }
}

}  // namespace

Body parse_template(std::string_view source) {
  Body body = Parser(tokenize(source)).parse_all();
  check_names(body, false);
  return body;
}

}  // namespace lp::chat
