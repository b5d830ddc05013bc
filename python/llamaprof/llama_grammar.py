"""LlamaGrammar: llama-cpp-python's grammar class, on the engine's GBNF parser and JSON-schema converter.

    from llamaprof import Llama, LlamaGrammar     # was: from llama_cpp import Llama, LlamaGrammar
    (or from llamaprof.llama_grammar import ...   # was: from llama_cpp.llama_grammar import ...)
    g = LlamaGrammar.from_string('root ::= "yes" | "no"')
    llm("Is it?", grammar=g, max_tokens=8)
    g = LlamaGrammar.from_json_schema(json.dumps({"type": "object", "properties": {...}}))

Parsing and conversion happen in C++ (the same code as `llamaprof run --grammar / --json-schema`).
A malformed grammar raises ValueError naming the line and column; a JSON-schema keyword that cannot
be honoured raises ValueError naming it, and one that is not understood at all warns (UserWarning).
Differences from llama-cpp-python: a missing file raises FileNotFoundError (llama-cpp-python raises
Exception). `verbose` is accepted and, as in llama-cpp-python 0.3, prints nothing.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Union

from . import _llamaprof

JSON_GBNF: str = _llamaprof.JSON_GBNF  # any JSON object (response_format={"type": "json_object"})


class LlamaGrammar:
    """A compiled GBNF grammar. Build one with from_string, from_file or from_json_schema."""

    def __init__(self, *, _grammar: str, _native=None):
        self._grammar = _grammar
        self._root = "root"
        self._native = _native if _native is not None else _llamaprof.parse_grammar(_grammar)

    @classmethod
    def from_string(cls, grammar: str, verbose: bool = True) -> "LlamaGrammar":
        if isinstance(grammar, bytes):
            grammar = grammar.decode("utf-8")
        if not isinstance(grammar, str):
            raise TypeError(f"grammar must be str, not {type(grammar).__name__}")
        return cls(_grammar=grammar)

    @classmethod
    def from_file(cls, file: Union[str, os.PathLike], verbose: bool = True) -> "LlamaGrammar":
        with open(os.fspath(file), encoding="utf-8") as f:
            text = f.read()
        if not text:
            raise ValueError(f"from_file: {os.fspath(file)} is empty")
        return cls.from_string(text, verbose=verbose)

    @classmethod
    def from_json_schema(cls, json_schema: Union[str, dict], verbose: bool = True) -> "LlamaGrammar":
        text = json_schema if isinstance(json_schema, str) else json.dumps(json_schema)
        return cls.from_string(json_schema_to_gbnf(text), verbose=verbose)

    @property
    def grammar(self) -> str:
        """The GBNF text."""
        return self._grammar

    def matches(self, text: Union[str, bytes]) -> bool:
        """Whether the whole text is in the grammar's language (llamaprof extension)."""
        return self._native.matches(text)

    def is_prefix(self, text: Union[str, bytes]) -> bool:
        """Whether the text can still be continued into the language (llamaprof extension)."""
        return self._native.is_prefix(text)

    def __repr__(self) -> str:
        return f"LlamaGrammar({self._native.n_rules} rules)"


def json_schema_to_gbnf(schema: str, prop_order=None) -> str:
    """GBNF text for a JSON schema given as JSON text (llama-cpp-python's function of that name)."""
    if prop_order is not None:
        raise NotImplementedError("json_schema_to_gbnf: prop_order is not supported by llamaprof "
                                  "(keys follow the schema: required first, in 'properties' order)")
    gbnf, notes = _llamaprof.json_schema_to_gbnf(schema)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return gbnf


def native_grammar(grammar):
    """The engine's Grammar for a LlamaGrammar (or None); anything else is a TypeError."""
    if grammar is None:
        return None
    if isinstance(grammar, LlamaGrammar):
        return grammar._native
    if isinstance(grammar, _llamaprof.Grammar):
        return grammar
    raise TypeError(f"grammar must be a LlamaGrammar (LlamaGrammar.from_string(...)), not {type(grammar).__name__}")


def grammar_for_response_format(response_format) -> "LlamaGrammar | None":
    """OpenAI's response_format as llama-cpp-python reads it: {"type": "text"}, {"type": "json_object"}
    (any JSON object, or the given "schema"), {"type": "json_schema", "json_schema": {"schema": ...}}."""
    if response_format is None:
        return None
    if not isinstance(response_format, dict) or "type" not in response_format:
        raise ValueError(f"response_format must be a dict with a 'type' (got {response_format!r})")
    kind = response_format["type"]
    if kind == "text":
        return None
    if kind == "json_object":
        schema = response_format.get("schema")
        if schema is None:
            return LlamaGrammar(_grammar=JSON_GBNF)
        return LlamaGrammar.from_json_schema(schema, verbose=False)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or "schema" not in spec:
            raise ValueError('response_format {"type": "json_schema"} needs "json_schema": {"schema": ...}')
        return LlamaGrammar.from_json_schema(spec["schema"], verbose=False)
    raise ValueError(f"response_format type {kind!r} is not supported (text, json_object, json_schema)")
