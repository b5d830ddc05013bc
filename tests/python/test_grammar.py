"""Grammars and JSON schemas end to end: property tests on random-weight models at temperature 1
(every complete output is checked by an independent oracle: json.loads, python3-jsonschema, or a
checker of the grammar's language written here; outputs cut by max_tokens must be a valid prefix),
the LlamaGrammar API, response_format, and the CLI's --grammar / --json-schema.

The property tests use the tiny preset with tests/data/grammar_vocab.tsv, a small vocabulary with
many closing pieces: random weights then finish most documents within a few dozen tokens, and the
vocabulary's byte tokens split characters across tokens. The Llama 2 vocabulary runs too (fewer
samples): its outputs are mostly cut, so they test prefixes and the big token trie.
"""

import json
import re
import subprocess
import warnings
from pathlib import Path

import pytest

from conftest import REPO, cli_path, ensure_model

jsonschema = pytest.importorskip("jsonschema")  # Debian python3-jsonschema (scripts/setup)

import llamaprof  # noqa: E402
from llamaprof import Llama, LlamaGrammar  # noqa: E402

GRAMMARS = REPO / "tools/oracle/generated/llama.cpp/grammars"
VOCAB = REPO / "tests/data/grammar_vocab.tsv"
PROMPTS = ["Hi", "the", "{", "ab x", "12", "a(b", "- item", "Hi the x"]


@pytest.fixture(scope="module")
def small_vocab_path() -> Path:
    cli = cli_path()
    if not cli.exists():
        pytest.skip(f"llamaprof CLI not built at {cli}")
    path = ensure_model("tiny", "Q8_0").parent / "tiny-grammarvocab-Q8_0-s0.gguf"
    if not path.exists() or path.stat().st_mtime < max(cli.stat().st_mtime, VOCAB.stat().st_mtime):
        subprocess.run([str(cli), "make-model", "--preset", "tiny", "--type", "Q8_0", "--vocab-file", str(VOCAB),
                        "-o", str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def small(small_vocab_path):
    return llamaprof.Model(small_vocab_path, n_threads=1, n_ctx=256)


def grammar_file(name: str) -> LlamaGrammar:
    if not (GRAMMARS / name).exists():
        pytest.fail(f"{GRAMMARS / name} is missing (scripts/setup extracts llama.cpp's grammars)")
    return LlamaGrammar.from_file(GRAMMARS / name)


def sample(model, grammar: LlamaGrammar, n: int, max_tokens: int, seed0: int = 0):
    """n generations at temperature 1 (different seeds and prompts): (raw bytes, finish_reason) each.
    The raw bytes are the tokens' pieces joined: exact even when cut inside a character."""
    out = []
    for i in range(n):
        r = model.generate(PROMPTS[i % len(PROMPTS)], max_tokens=max_tokens, temperature=1.0, top_k=0, top_p=1.0,
                           min_p=0.0, repeat_penalty=1.0, seed=seed0 + i, grammar=grammar)
        raw = b"".join(model.token_to_piece(t) for t in r.tokens)
        assert r.finish_reason in ("stop", "length"), r.finish_reason
        if r.finish_reason == "stop":
            assert raw.decode("utf-8") == r.text  # complete outputs are whole characters
        out.append((raw, r.finish_reason))
    return out


def check_samples(grammar: LlamaGrammar, samples, accept, min_complete: float, lines: bool = False):
    """Complete outputs must pass `accept` (the independent oracle); cut ones must be prefixes.
    lines: the language is "one or more lines" (arithmetic, list), where text can always go on and
    only EOS ends it; there a cut output also counts when its longest prefix of whole lines that the
    grammar calls complete (where generation could have ended) passes `accept`."""
    complete = 0
    for raw, reason in samples:
        if reason == "stop":
            complete += 1
            text = raw.decode("utf-8")
            assert grammar.matches(raw), text
            accept(text)
        else:
            assert grammar.is_prefix(raw), raw
            if lines:
                ends = [i + 1 for i in range(len(raw)) if raw[i:i + 1] == b"\n" and grammar.matches(raw[:i + 1])]
                if ends:
                    complete += 1
                    accept(raw[:ends[-1]].decode("utf-8"))
    assert complete >= min_complete * len(samples), f"only {complete} of {len(samples)} outputs complete"
    return complete


# --- property tests: independent oracles ---------------------------------------------------------------
def test_json_gbnf_outputs_are_json(small):
    g = grammar_file("json.gbnf")

    def accept(text):
        assert isinstance(json.loads(text), dict), text  # json.gbnf's root is an object

    check_samples(g, sample(small, g, 300, 64), accept, 0.7)


SCHEMAS = [
    {"type": "object",
     "properties": {"name": {"type": "string", "maxLength": 6}, "age": {"type": "integer", "minimum": 0, "maximum": 120},
                    "tags": {"type": "array", "items": {"enum": ["a", "b", 3]}, "maxItems": 3}},
     "required": ["name", "age"], "additionalProperties": False},
    {"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50}, "minItems": 1, "maxItems": 4},
    {"anyOf": [{"type": "null"}, {"type": "boolean"}, {"type": "string", "pattern": "^[a-c]{1,3}x?$"},
               {"const": {"k": [1, "é"]}}]},
    {"$defs": {"node": {"type": "object",
                        "properties": {"v": {"enum": [1, 2, 3]},
                                       "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}},
                        "required": ["v"]}},
     "$ref": "#/$defs/node"},
    {"type": "object", "properties": {"id": {"type": ["integer", "null"], "exclusiveMinimum": 7},
                                      "s": {"type": "string", "minLength": 1, "maxLength": 3}},
     "required": ["id"], "additionalProperties": {"type": "boolean"}},
    {"type": "object", "properties": {"when": {"type": "string", "format": "date"},
                                      "n": {"type": "number"}, "u": {"type": "string", "format": "uuid"}},
     "required": ["when"]},
]


@pytest.mark.parametrize("index", range(len(SCHEMAS)))
def test_schema_outputs_validate(small, index):
    schema = SCHEMAS[index]
    g = LlamaGrammar.from_json_schema(json.dumps(schema))
    validator = jsonschema.Draft202012Validator(schema)

    def accept(text):
        doc = json.loads(text)
        validator.validate(doc)
        if index == 5:  # formats are annotations to the validator: check them here
            assert re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", doc["when"]), doc
            if "u" in doc:
                assert re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", doc["u"]), doc

    check_samples(g, sample(small, g, 60, 64, seed0=1000 * index), accept, 0.6)


def arithmetic_ok(text: str) -> bool:
    """arithmetic.gbnf, independently: one or more lines `expr "=" ws term "\\n"` with
    expr := term ([-+*/] term)*, term := ident | num | "(" ws expr ")" ws, ident := [a-z][a-z0-9_]* ws,
    num := [0-9]+ ws, ws := [ \\t\\n]*. Each function returns every position its rule can end at
    (ws may or may not take a newline, so there can be several)."""
    word = re.compile(r"[a-z][a-z0-9_]*|[0-9]+")

    def ws(p):
        q = p
        while q < len(text) and text[q] in " \t\n":
            q += 1
        return range(p, q + 1)

    def term(p):
        m = word.match(text, p)
        if m:  # a longer word cannot be split: two words need an operator between them
            return set(ws(m.end()))
        ends = set()
        if p < len(text) and text[p] == "(":
            for q in ws(p + 1):
                for r in expr(q):
                    if r < len(text) and text[r] == ")":
                        ends |= set(ws(r + 1))
        return ends

    def expr(p):
        ends, todo = set(), set(term(p))
        while todo:
            q = todo.pop()
            if q in ends:
                continue
            ends.add(q)
            if q < len(text) and text[q] in "-+*/":
                todo |= term(q + 1)
        return ends

    def line(p):
        ends = set()
        for q in expr(p):
            if q < len(text) and text[q] == "=":
                for r in ws(q + 1):
                    ends |= {s + 1 for s in term(r) if s < len(text) and text[s] == "\n"}
        return ends

    seen, todo = set(), {0}
    while todo:
        p = todo.pop()
        for e in line(p):
            if e == len(text):
                return True
            if e not in seen:
                seen.add(e)
                todo.add(e)
    return False


def test_arithmetic_checker_itself():
    assert arithmetic_ok("1+2*x= (3 -4)\n")
    assert arithmetic_ok("a=b\nc = (d)\n\n")
    assert not arithmetic_ok("1+2=3")
    assert not arithmetic_ok("1+ 2=3\n")
    assert not arithmetic_ok("A=1\n")


def test_arithmetic_outputs(small):
    g = grammar_file("arithmetic.gbnf")
    def accept(text):
        assert arithmetic_ok(text), text

    check_samples(g, sample(small, g, 200, 48, seed0=5000), accept, 0.5, lines=True)


LIST_LINE = re.compile("- [^\r\n\x0b\x0c\x85\u2028\u2029]+\n")


def test_list_outputs(small):
    g = grammar_file("list.gbnf")

    def accept(text):
        assert re.fullmatch(f"(?:{LIST_LINE.pattern})+", text), text

    check_samples(g, sample(small, g, 200, 48, seed0=7000), accept, 0.5, lines=True)


def test_llama2_vocabulary_outputs_are_prefixes(tiny_path):
    """The real 32000-token vocabulary: pieces with spaces, byte tokens, long tokens."""
    m = llamaprof.Model(tiny_path, n_threads=1, n_ctx=256)
    g = grammar_file("json.gbnf")
    for raw, reason in sample(m, g, 20, 16, seed0=9000):
        assert g.is_prefix(raw), raw
        if reason == "stop":
            assert isinstance(json.loads(raw.decode("utf-8")), dict)


# --- generation ends with the grammar -------------------------------------------------------------
def test_generation_stops_when_nothing_can_follow(small):
    g = LlamaGrammar.from_string('root ::= "yes" | "no" | "maybe"')
    for seed in range(20):
        r = small.generate("Hi", max_tokens=50, temperature=1.0, seed=seed, grammar=g)
        assert r.text in ("yes", "no", "maybe") and r.finish_reason == "stop", (r.text, r.finish_reason)
        assert len(r.tokens) <= 5
        # Complete on the last allowed token: still "stop", not "length".
        again = small.generate("Hi", max_tokens=len(r.tokens), temperature=1.0, seed=seed, grammar=g)
        assert (again.text, again.finish_reason) == (r.text, "stop")


def test_stream_matches_generate(small):
    g = grammar_file("json.gbnf")
    kw = dict(max_tokens=40, temperature=1.0, seed=11, grammar=g)
    full = small.generate("Hi", **kw)
    with small.stream("Hi", **kw) as s:
        pieces = [t.text for t in s]
    assert "".join(pieces) == full.text[:len("".join(pieces))]
    assert s.result.text == full.text and s.result.tokens == full.tokens


# --- LlamaGrammar API ------------------------------------------------------------------------------
def test_llama_grammar_constructors(tmp_path):
    g = LlamaGrammar.from_string('root ::= [a-c]{2} "!"')
    assert g.matches("ab!") and not g.matches("ab") and g.is_prefix("ab") and not g.is_prefix("ad")
    assert g._grammar == 'root ::= [a-c]{2} "!"' and g.grammar == g._grammar
    f = tmp_path / "g.gbnf"
    f.write_text('root ::= "x"+\n')
    assert LlamaGrammar.from_file(f).matches("xxx")
    assert LlamaGrammar.from_file(str(f)).matches("x")
    with pytest.raises(FileNotFoundError):
        LlamaGrammar.from_file(tmp_path / "missing.gbnf")
    with pytest.raises(ValueError, match=r"line 2, column 11: undefined rule 'nope'"):
        LlamaGrammar.from_string('root ::= a\na ::= "x" nope\n')
    with pytest.raises(ValueError, match=r"line 1, column 11: unknown escape"):
        LlamaGrammar.from_string('root ::= "\\q"')
    s = LlamaGrammar.from_json_schema(json.dumps({"type": "object", "properties": {"a": {"type": "boolean"}},
                                                   "required": ["a"]}))
    assert s.matches('{"a": true}') and not s.matches('{"a": 1}')
    assert LlamaGrammar.from_json_schema({"enum": [1, 2]}).matches("2")  # a dict works too
    with pytest.raises(ValueError, match="uniqueItems"):
        LlamaGrammar.from_json_schema('{"type": "array", "uniqueItems": true}')
    with pytest.warns(UserWarning, match="x-note"):
        LlamaGrammar.from_json_schema('{"type": "string", "x-note": 1}')
    with pytest.raises(ValueError, match="not valid JSON"):
        LlamaGrammar.from_json_schema("{oops")
    # llama-cpp-python's module layout: llama_cpp.llama_grammar
    from llamaprof.llama_grammar import JSON_GBNF, LlamaGrammar as Same, json_schema_to_gbnf
    assert Same is LlamaGrammar and "root ::=" in JSON_GBNF
    assert LlamaGrammar.from_string(json_schema_to_gbnf('{"type": "integer", "maximum": 3}')).matches("-17")
    with pytest.raises(NotImplementedError, match="prop_order"):
        json_schema_to_gbnf("{}", prop_order=["a"])


def test_llama_completion_and_chat(small_vocab_path):
    llm = Llama(str(small_vocab_path), n_threads=1, n_ctx=256, verbose=False, chat_format="chatml")
    g = LlamaGrammar.from_string('root ::= "a" [bc]{2,3}')
    out = llm("Hi", grammar=g, max_tokens=16, temperature=1.0, seed=1)
    assert re.fullmatch("a[bc]{2,3}", out["choices"][0]["text"]) and out["choices"][0]["finish_reason"] == "stop"
    with pytest.raises(TypeError, match="LlamaGrammar"):
        llm("Hi", grammar='root ::= "a"', max_tokens=4)
    msgs = [{"role": "user", "content": "hi"}]
    for seed in range(10):
        r = llm.create_chat_completion(msgs, response_format={"type": "json_object"}, max_tokens=64, temperature=1.0,
                                       seed=seed)
        content = r["choices"][0]["message"]["content"]
        if r["choices"][0]["finish_reason"] == "stop":
            assert isinstance(json.loads(content), dict)
        else:
            assert LlamaGrammar(_grammar=llamaprof.llama_grammar.JSON_GBNF).is_prefix(content.encode())
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 9}}, "required": ["n"],
              "additionalProperties": False}
    for fmt in ({"type": "json_object", "schema": schema}, {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}):
        r = llm.create_chat_completion(msgs, response_format=fmt, max_tokens=32, temperature=1.0, seed=3)
        assert r["choices"][0]["finish_reason"] == "stop"
        jsonschema.validate(json.loads(r["choices"][0]["message"]["content"]), schema)
    stream = llm.create_chat_completion(msgs, response_format={"type": "json_object", "schema": schema}, max_tokens=32,
                                        temperature=1.0, seed=3, stream=True)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in stream)
    jsonschema.validate(json.loads(text), schema)
    r = llm.create_chat_completion(msgs, grammar=g, max_tokens=16, temperature=1.0, seed=2)
    assert re.fullmatch("a[bc]{2,3}", r["choices"][0]["message"]["content"])
    assert llm.create_chat_completion(msgs, response_format={"type": "text"}, max_tokens=2)["choices"]
    with pytest.raises(ValueError, match="not both"):
        llm.create_chat_completion(msgs, grammar=g, response_format={"type": "json_object"}, max_tokens=4)
    with pytest.raises(ValueError, match="response_format type 'xml'"):
        llm.create_chat_completion(msgs, response_format={"type": "xml"}, max_tokens=4)
    with pytest.raises(ValueError, match="json_schema"):
        llm.create_chat_completion(msgs, response_format={"type": "json_schema"}, max_tokens=4)


def test_llama_generate_and_sample_take_a_grammar(small_vocab_path):
    """The grammar constrains llama-cpp-python's token loop too: generate(), sample(), and a logits
    processor that pushes a token the grammar forbids cannot make the output leave the grammar."""
    llm = Llama(str(small_vocab_path), n_threads=1, n_ctx=256, verbose=False)
    g = LlamaGrammar.from_string('root ::= "a" [bc]{2,3}')
    tokens = []
    for t in llm.generate(llm.tokenize(b"Hi"), temp=1.0, grammar=g):
        if llm._engine.is_eog(t):
            break
        tokens.append(t)
        assert len(tokens) < 8, llm.detokenize(tokens)
    assert re.fullmatch(b"a[bc]{2,3}", llm.detokenize(tokens).lstrip(b" ")), llm.detokenize(tokens)
    z = llm.tokenize(b"z", add_bos=False)[-1]
    out = llm("Hi", grammar=g, max_tokens=16, temperature=0, logit_bias={z: 100.0})
    assert re.fullmatch("a[bc]{2,3}", out["choices"][0]["text"]), out["choices"][0]["text"]
    # sample() with a grammar: the first token must start the grammar's language. (A fresh Llama:
    # as in llama-cpp-python, sample() reuses the sampler of an earlier generate().)
    llm = Llama(str(small_vocab_path), n_threads=1, n_ctx=256, verbose=False)
    llm.eval(llm.tokenize(b"Hi"))
    first = llm.sample(temp=1.0, grammar=g)
    assert llm._engine.piece(first, False).startswith(b"a"), llm._engine.piece(first, False)


# --- CLI -----------------------------------------------------------------------------------------------
def run_cli(*args):
    return subprocess.run([str(cli_path()), "run", *args], capture_output=True, text=True)


def test_cli_grammar_and_json_schema(small_vocab_path, tmp_path):
    m = str(small_vocab_path)
    common = ["-m", m, "-p", "Hi", "-t", "1", "-n", "32", "--temp", "1", "--seed", "4", "--json"]
    r = run_cli(*common, "--grammar", 'root ::= "x" [0-9]+ "y"')
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert re.fullmatch("x[0-9]+y", d["text"]) and d["finish_reason"] == "stop"
    f = tmp_path / "g.gbnf"
    f.write_text('root ::= ("ab" | "c")+ "\\n"\n')
    for opt in ("--grammar", "--grammar-file"):
        r = run_cli(*common, opt, str(f))
        assert r.returncode == 0, r.stderr
        text = json.loads(r.stdout)["text"]
        assert re.fullmatch("(ab|c)+\n", text) or re.fullmatch("(ab|c)*", text), text
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    s = tmp_path / "s.json"
    s.write_text(json.dumps(schema))
    for value in (json.dumps(schema), str(s)):
        r = run_cli(*common, "--json-schema", value)
        assert r.returncode == 0, r.stderr
        jsonschema.validate(json.loads(json.loads(r.stdout)["text"]), schema)
    r = run_cli(*common, "-j", '{"type": "string", "x-note": 1}')
    assert r.returncode == 0 and "warning: JSON schema at #: keyword 'x-note' is not supported" in r.stderr, r.stderr
    # Errors: exit code 1 with the line and column, before the model loads.
    r = run_cli(*common, "--grammar", 'root ::= "a" | (b')
    assert r.returncode != 0 and "line 1, column 18: expected ')'" in r.stderr, r.stderr
    r = run_cli(*common, "--grammar", str(tmp_path / "missing.gbnf"))
    assert r.returncode != 0 and "cannot open grammar file" in r.stderr, r.stderr
    r = run_cli(*common, "--json-schema", '{"type": "array", "contains": {}}')
    assert r.returncode != 0 and "contains" in r.stderr, r.stderr
    r = run_cli(*common, "--grammar", 'root ::= "a"', "--json-schema", "{}")
    assert r.returncode != 0


def test_cli_chat_grammar_applies_to_every_reply(small_vocab_path):
    r = subprocess.run([str(cli_path()), "chat", "-m", str(small_vocab_path), "--chat-template", "chatml", "-t", "1",
                        "--temp", "1", "--seed", "2", "--grammar", 'root ::= "ok" [0-9]{1,3}'],
                       input="hi\nagain\n/exit\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(re.findall(r"> ok[0-9]{1,3}\n", r.stdout)) == 2, r.stdout
