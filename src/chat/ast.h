// The parsed template: expression and statement nodes. Each node is one struct with a kind and
// generic child slots (jinja2's node types differ only in how they use them).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace lp::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,   // value
    Name,      // name
    List,      // args
    Tuple,     // args
    Dict,      // args: key, value, key, value, ...
    Attr,      // args[0].name
    Item,      // args[0][args[1]]
    Slice,     // args[0][args[1]:args[2]:args[3]] (null slots omitted)
    Call,      // args[0](args[1..], kwargs)
    Filter,    // args[0] | name(args[1..], kwargs); args[0] is null in a filter block
    Test,      // args[0] is [not] name(args[1..], kwargs)
    Not,       // not args[0]
    Neg,       // -args[0]
    Pos,       // +args[0]
    Binary,    // args[0] op args[1]: + - * / // % ** ~ and or
    Compare,   // args[0] ops[0] args[1] ops[1] args[2] ...
    Cond,      // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind;
  int line = 0;
  std::string name;  // name, attribute, filter, test, operator
  bool negated = false;
  Value value;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare
  int depth = 1;                 // height of this subtree, bounded by the parser
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Macro {
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default may be null
  Body body;
};

struct Stmt {
  enum class Kind {
    Text,       // text
    Output,     // {{ expr }}
    If,         // conds[i] -> bodies[i]; else_body
    For,        // for target in expr [if cond] body [else else_body]
    Set,        // set target = expr
    SetBlock,   // set name %} body {% endset (expr: optional filter chain)
    Macro,      // macro
    CallBlock,  // expr is the call; macro holds the caller's params and body
    FilterBlock,  // expr is the filter chain (innermost args[0] null), body
    Break,
    Continue,
  };
  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr target;  // For, Set: Name or Tuple of Names, or Attr on a name (namespace)
  ExprPtr cond;    // For's filter
  bool recursive = false;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::shared_ptr<Macro> macro;
};

}  // namespace lp::chat
