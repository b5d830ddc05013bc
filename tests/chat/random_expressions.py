#!/usr/bin/env python3
"""Random differential check of llamaprof's template engine against jinja2 (not part of ctest):
renders COUNT random expressions, loops and statements built from the constructs chat templates use
through both engines and reports every case where llamaprof renders different bytes, renders where
jinja2 raises, or raises InvalidArgument where jinja2 renders. Unsupported errors are counted.

  random_expressions.py --runner build/tests/chat_render [--seed N] [--count N]

Known, accepted differences: jinja2 folds constant subexpressions at compile time, and a folded
slice of a non-sequence ((1)[1:]) becomes undefined instead of raising; methods of Markup strings
return Markup."""

import argparse
import copy
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_templates as ct  # noqa: E402

ATOMS = ["1", "0", "-3", "2.5", "0.1", "'a'", "'Hello World'", "''", "' x '", "none", "true", "false", "[1, 2, 3]", "[]",
         "['b', 'a']", "{'k': 1, 'j': [2]}", "{}", "x", "s", "l", "d", "n", "missing", "messages[0]",
         "messages[-1].content", "(1, 2)", "range(3)", "'a,b'", "'<b>'|safe", "loop_var"]
BINARY = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", "in", "not in", "and", "or", "**"]
FILTERS = ["length", "string", "trim", "upper", "lower", "title", "capitalize", "list", "first", "last", "tojson", "int",
           "float", "abs", "default('D')", "join(',')", "sort", "reverse", "unique", "items", "dictsort", "sum", "min",
           "max", "safe", "wordcount", "replace('a', 'b')", "indent(2)", "map('string')", "select", "reject", "round",
           "count", "batch(2)", "tojson(indent=1)", "selectattr('role')", "map(attribute='role')", "default('x', true)"]
TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
         "boolean", "true", "false", "odd", "even", "divisibleby(2)", "equalto(1)", "in([1, 2])", "lower", "upper"]
METHODS = [".strip()", ".split(',')", ".split()", ".upper()", ".startswith('a')", ".replace('l', 'L')", ".items()",
           ".keys()", ".get('k')", ".get('z', 0)", "[0]", "[1:]", "[::-1]", "[-1]", ".title()", ".find('o')",
           ".count('l')", ".values()", ".lstrip('H')", "['k']", ".format(1)", ".endswith('d')", ".rstrip()"]


def expr(rng, d=0):
    r = rng.random()
    if d > 3 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.5:
        return f"({expr(rng, d + 1)} {rng.choice(BINARY)} {expr(rng, d + 1)})"
    if r < 0.65:
        return f"({expr(rng, d + 1)} | {rng.choice(FILTERS)})"
    if r < 0.75:
        return f"({expr(rng, d + 1)} is {'not ' if rng.random() < 0.3 else ''}{rng.choice(TESTS)})"
    if r < 0.87:
        return f"({expr(rng, d + 1)}){rng.choice(METHODS)}"
    if r < 0.93:
        return f"({expr(rng, d + 1)} if {expr(rng, d + 1)} else {expr(rng, d + 1)})"
    return f"(not {expr(rng, d + 1)})"


def statement(rng, d=0):
    e = lambda: expr(rng, 2)  # noqa: E731
    ws = lambda: rng.choice(["", "-"])  # noqa: E731
    r = rng.random()
    if d > 2 or r < 0.3:
        return rng.choice(["{{ " + e() + " }}", "text ", "\n  line\n", "{{ loop_var }}", "{# c #}"])
    body = lambda: "".join(statement(rng, d + 1) for _ in range(rng.randint(1, 3)))  # noqa: E731
    if r < 0.45:
        return f"{{%{ws()} if {e()} {ws()}%}}{body()}{{% else %}}{body()}{{% endif %}}"
    if r < 0.6:
        return (f"{{%{ws()} for loop_var in {e()} {ws()}%}}{{{{ loop.index }}}}{body()}"
                f"{{{{ loop.last }}}}{{% else %}}E{{% endfor %}}\n")
    if r < 0.7:
        return f"{{% set ns.v = {e()} %}}{{{{ ns.v }}}}"
    if r < 0.8:
        return f"{{% macro m(a, b={e()}) %}}[{{{{ a }}}}|{{{{ b }}}}]{body()}{{% endmacro %}}{{{{ m({e()}) }}}}"
    if r < 0.9:
        return f"{{% set blk %}}{body()}{{% endset %}}{{{{ blk | trim }}}}"
    return f"  {{% filter upper %}}{body()}{{% endfilter %}}\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=3000)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    srcs = []
    for _ in range(args.count):
        r = rng.random()
        if r < 0.5:
            srcs.append("{{ " + expr(rng) + " }}")
        else:
            srcs.append("{% set ns = namespace(v=0) %}" + "".join(statement(rng) for _ in range(rng.randint(1, 4))))
    ctx = {"messages": ct.CONVERSATIONS["tool_call"], "x": 7, "s": "Hello World", "d": {"b": 2, "a": 1},
           "l": [3, 1, 2], "n": None}
    env = ct.jinja2_environment()
    expected = []
    for s in srcs:
        try:
            expected.append({"ok": env.from_string(s).render(**copy.deepcopy(ctx))})
        except Exception as e:  # noqa: BLE001
            expected.append({"error": f"{type(e).__name__}: {str(e)[:200]}"})
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "cases.json"
        f.write_text(json.dumps({"now_unix": ct.NOW_UNIX, "templates": {str(i): s for i, s in enumerate(srcs)},
                                 "cases": [{"template": str(i), "context": ctx} for i in range(len(srcs))]}))
        actual = json.loads(subprocess.run([str(args.runner), str(f)], check=True, capture_output=True).stdout)
    bad = unsupported = 0
    for s, e, a in zip(srcs, expected, actual):
        if ("ok" in e and e["ok"] == a.get("ok")) or ("error" in e and a.get("kind") == "InvalidArgument"):
            continue
        if a.get("kind") == "Unsupported":
            unsupported += 1
            continue
        bad += 1
        print(f"{s!r}\n   jinja2:    {e!r:.300}\n   llamaprof: {a!r:.300}")
    print(f"{args.count} random templates (seed {args.seed}): {bad} differ, {unsupported} unsupported")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
