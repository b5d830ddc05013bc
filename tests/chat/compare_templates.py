#!/usr/bin/env python3
"""Renders every chat template llama.cpp ships (models/templates/*.jinja and the
tokenizer.chat_template of models/ggml-vocab-*.gguf) through Python's jinja2, set up as
transformers sets it up, and through llamaprof (tests/chat/chat_render.cpp), with fixed
conversations, and compares the bytes.

  compare_templates.py --runner build/tests/chat_render [--templates DIR] [--json OUT]

A template is identical when every conversation gives the same bytes, or both engines raise
(llamaprof with InvalidArgument). It is unsupported when llamaprof raises Unsupported somewhere
and never differs. Exits 1 when any template differs or fewer than 95% are identical."""

import argparse
import copy
import datetime
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LLAMA_MODELS = REPO / "tools/oracle/generated/llama.cpp/models"
NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)  # strftime_now on both sides
NOW_UNIX = 1721995200
TARGET = 0.95

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}]
# The id is 9 alphanumerics, which Mistral's templates insist on.
TOOL_CALL = {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}}
TOOL_CALL_STR = {"id": "call67890", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\": \"Rome\"}"}}
CONVERSATIONS = {
    "system_user": [SYSTEM, {"role": "user", "content": "Hello! What is 2+2?"}],
    "multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Hi there."},
        {"role": "assistant", "content": "Hello! How can I help you today?"},
        {"role": "user", "content": "What's the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."},
        {"role": "user", "content": "Thanks! And of Italy?"},
    ],
    "alternating": [
        {"role": "user", "content": "Write a haiku about the sea."},
        {"role": "assistant", "content": "Waves fold into foam,\nsalt wind carries gull voices,\nthe tide keeps its time."},
        {"role": "user", "content": "Now one about \"mountains\" — in 'quotes'."},
    ],
    "user_only": [{"role": "user", "content": "Tell me a joke."}],
    "content_parts": [
        SYSTEM,
        {"role": "user", "content": [{"type": "text", "text": "Describe this in one word:"},
                                     {"type": "text", "text": "a calm lake at dawn"}]},
    ],
    "reasoning": [
        {"role": "user", "content": "Is 17 prime?"},
        {"role": "assistant", "reasoning_content": "17 has no divisors other than 1 and 17.",
         "content": "Yes, 17 is prime."},
        {"role": "user", "content": "And 21?"},
    ],
    # Only the messages: tools, documents and the special tokens are undefined.
    "bare_context": [{"role": "user", "content": "Hello."}],
    "tools_offered": [SYSTEM, {"role": "user", "content": "What's the weather in Paris?"}],
    "tool_call": [
        SYSTEM,
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
         "content": "{\"temperature\": 22, \"condition\": \"sunny\"}"},
    ],
    "tool_call_answered": [
        {"role": "user", "content": "Weather in Rome, please."},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL_STR]},
        {"role": "tool", "tool_call_id": "call67890", "name": "get_weather", "content": "18 C, cloudy"},
        {"role": "assistant", "content": "It is 18 C and cloudy in Rome."},
        {"role": "user", "content": "Thanks."},
    ],
}
CONVERSATIONS.update({
    "unicode": [{"role": "system", "content": "Réponds en français 🇫🇷."},
                {"role": "user", "content": "Ça va? 中文 <b>&\"'\\ \t tab"}],
    "assistant_last": [{"role": "user", "content": "Start a story."}, {"role": "assistant", "content": "Once upon"}],
    "long": [SYSTEM] + [{"role": ("user", "assistant")[i % 2], "content": f"message {i}\n  second line"}
                        for i in range(11)],
    "parallel_tool_calls": [
        {"role": "user", "content": "Weather in Paris, then search for umbrellas."},
        {"role": "assistant", "content": "Sure.", "tool_calls": [TOOL_CALL, {
            "id": "abc123456", "type": "function",
            "function": {"name": "search", "arguments": {"q": "umbrella", "n": 2, "opts": {"safe": True},
                                                         "tags": ["rain", "shop"]}}}]},
        {"role": "tool", "tool_call_id": "call12345", "content": "sunny"},
        {"role": "tool", "tool_call_id": "abc123456", "content": "[\"umbrella A\", \"umbrella B\"]"},
    ],
})
TOOLS_TWO = TOOLS + [{
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web — fast.",
        "parameters": {
            "type": "object",
            "properties": {
                "q": {"type": "string"},
                "n": {"type": "integer", "default": 3},
                "opts": {"type": "object", "properties": {"safe": {"type": "boolean"}}},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["q"],
        },
    },
}]
TOOL_CONVERSATIONS = {"tools_offered", "tool_call", "tool_call_answered", "parallel_tool_calls"}


def read_gguf_chat_template(path: Path):
    """The tokenizer.chat_template string of a GGUF file, or None."""
    data = path.read_bytes()
    if data[:4] != b"GGUF":
        return None
    pos = 4
    version, = struct.unpack_from("<I", data, pos)
    pos += 4
    if version < 2:
        return None
    _, n_kv = struct.unpack_from("<QQ", data, pos)
    pos += 16
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def read_str(p):
        n, = struct.unpack_from("<Q", data, p)
        return data[p + 8:p + 8 + n], p + 8 + n

    def skip(t, p):
        if t in sizes:
            return p + sizes[t]
        if t == 8:
            return read_str(p)[1]
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et in sizes:
                return p + sizes[et] * n
            for _ in range(n):
                p = skip(et, p)
            return p
        raise ValueError(f"{path}: bad GGUF value type {t}")

    for _ in range(n_kv):
        key, pos = read_str(pos)
        t, = struct.unpack_from("<I", data, pos)
        pos += 4
        if key == b"tokenizer.chat_template" and t == 8:
            return read_str(pos)[0].decode("utf-8")
        pos = skip(t, pos)
    return None


def collect_templates(templates_dir: Path, vocab_dir: Path):
    out = {}
    for p in sorted(templates_dir.glob("*.jinja")):
        out[p.name] = p.read_text(encoding="utf-8")
    for p in sorted(vocab_dir.glob("ggml-vocab-*.gguf")):
        t = read_gguf_chat_template(p)
        if t is not None:
            out[p.name] = t
    return out


def make_cases(templates):
    cases = []
    for tid, source in templates.items():
        takes_tools = "tools" in source
        for conv_name, messages in CONVERSATIONS.items():
            if conv_name in TOOL_CONVERSATIONS and not takes_tools:
                continue
            for gen in (False, True):
                # What transformers' apply_chat_template passes: tools/documents None unless given,
                # and the tokenizer's special tokens.
                context = {
                    "messages": messages,
                    "tools": (TOOLS_TWO if conv_name == "parallel_tool_calls" else TOOLS)
                    if conv_name in TOOL_CONVERSATIONS else None,
                    "documents": None,
                    "add_generation_prompt": gen,
                    "bos_token": "<s>",
                    "eos_token": "</s>",
                    "unk_token": "<unk>",
                    "pad_token": "<pad>",
                }
                if conv_name == "bare_context":
                    context = {"messages": messages, "add_generation_prompt": gen}
                cases.append({"template": tid, "name": f"{conv_name}{'+gen' if gen else ''}", "context": context})
    return cases


def jinja2_environment():
    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(Extension):
        """transformers' AssistantTracker: {% generation %} renders its body."""
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_jinja2(templates, cases):
    env = jinja2_environment()
    compiled = {}
    for tid, source in templates.items():
        try:
            compiled[tid] = env.from_string(source)
        except Exception as e:  # noqa: BLE001 - any compile failure is an expected "raises"
            compiled[tid] = e
    results = []
    for c in cases:
        t = compiled[c["template"]]
        if isinstance(t, Exception):
            results.append({"error": f"{type(t).__name__}: {t}"})
            continue
        try:
            # A copy: Python's += can mutate a list in place (jinja2's indent filter does), which
            # must not leak into the next case or into the fixtures llamaprof reads.
            results.append({"ok": t.render(**copy.deepcopy(c["context"]))})
        except Exception as e:  # noqa: BLE001
            results.append({"error": f"{type(e).__name__}: {e}"})
    return results


def render_llamaprof(runner: Path, templates, cases):
    with tempfile.TemporaryDirectory() as d:
        fixtures = Path(d) / "fixtures.json"
        fixtures.write_text(json.dumps({"now_unix": NOW_UNIX, "templates": templates, "cases": cases},
                                       ensure_ascii=False), encoding="utf-8")
        out = subprocess.run([str(runner), str(fixtures)], check=True, capture_output=True)
    return json.loads(out.stdout.decode("utf-8"))


def compare(templates, cases, expected, actual):
    """Per template: (status, detail). Status: identical, unsupported, different."""
    per = {tid: [] for tid in templates}
    for c, e, a in zip(cases, expected, actual):
        per[c["template"]].append((c["name"], e, a))
    table = {}
    for tid, rows in per.items():
        status, detail, raised = "identical", "", 0
        for name, e, a in rows:
            if "ok" in e and "ok" in a and e["ok"] == a["ok"]:
                continue
            if "error" in e and a.get("kind") == "InvalidArgument":
                raised += 1
                continue
            if a.get("kind") == "Unsupported":
                if status == "identical":
                    status, detail = "unsupported", a["error"]
                continue
            status = "different"
            if "ok" in e and "ok" in a:
                detail = f"{name}: different bytes"
            elif "ok" in e:
                detail = f"{name}: llamaprof raised {a.get('error')!r}, jinja2 rendered"
            else:
                detail = f"{name}: jinja2 raised {e['error']!r}, llamaprof {'rendered' if 'ok' in a else a.get('error')}"
            break
        if status == "identical" and raised:
            detail = f"{raised}/{len(rows)} conversations raise in both"
        table[tid] = (status, detail, rows)
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", required=True, type=Path, help="the chat_render test program")
    ap.add_argument("--templates", type=Path, default=LLAMA_MODELS / "templates")
    ap.add_argument("--vocabs", type=Path, default=LLAMA_MODELS)
    ap.add_argument("--json", type=Path, help="write the per-case results here")
    ap.add_argument("--show-diff", action="store_true", help="print the first differing case of each template")
    args = ap.parse_args(argv)

    templates = collect_templates(args.templates, args.vocabs)
    if not templates:
        print(f"no templates under {args.templates}", file=sys.stderr)
        return 1
    cases = make_cases(templates)
    expected = render_jinja2(templates, cases)
    actual = render_llamaprof(args.runner, templates, cases)
    table = compare(templates, cases, expected, actual)

    width = max(len(t) for t in table)
    for tid, (status, detail, rows) in table.items():
        print(f"{tid:<{width}}  {status:<11}  {len(rows)} cases  {detail}")
        if args.show_diff and status == "different":
            for name, e, a in rows:
                if e != {k: v for k, v in a.items() if k != "kind"}:
                    print(f"--- {name}\n=== jinja2:\n{e.get('ok', e.get('error'))}\n=== llamaprof:\n{a.get('ok', a.get('error'))}")
                    break
    n = len(table)
    identical = sum(1 for s, _, _ in table.values() if s == "identical")
    different = [t for t, (s, _, _) in table.items() if s == "different"]
    pct = 100.0 * identical / n
    print(f"\n{identical}/{n} templates identical ({pct:.1f}%), "
          f"{sum(1 for s, _, _ in table.values() if s == 'unsupported')} unsupported, {len(different)} different; "
          f"{len(cases)} conversations")
    if args.json:
        args.json.write_text(json.dumps([{**c, "jinja2": e, "llamaprof": a} for c, e, a in zip(cases, expected, actual)],
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    if different:
        print("FAIL: templates with different bytes: " + ", ".join(different))
        return 1
    if identical < TARGET * n:
        print(f"FAIL: fewer than {TARGET:.0%} of the templates are identical")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
