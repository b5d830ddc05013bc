"""Llama: the commonly used surface of llama-cpp-python's Llama class, on the llamaprof engine.

A script written for llama-cpp-python runs with only its import changed:

    from llamaprof import Llama          # was: from llama_cpp import Llama
    llm = Llama(model_path="m.gguf", n_ctx=2048, n_threads=2, verbose=False)
    out = llm("Q: Name the planets. A:", max_tokens=32, stop=["Q:"], echo=True)
    print(out["choices"][0]["text"], out["usage"])

Results have llama-cpp-python's dict shapes (OpenAI "text_completion"). Differences:
  - constructor keywords llamaprof has no use for (n_gpu_layers, rope_*, lora_*, ...) are
    accepted and ignored; so are the sampling keywords it does not implement (typical_p,
    tfs_z, mirostat_*, logits_processor, ...);
  - seed: a fixed seed reseeds the sampler for every completion, so a call repeats exactly; the
    default (LLAMA_DEFAULT_SEED, or -1) draws a fresh random seed per completion;
  - a prompt given as a list of token ids is detokenized to text and tokenized again;
  - Ctrl-C raises KeyboardInterrupt after the engine stops cleanly (see llamaprof.model).

Chat: create_chat_completion(messages) formats OpenAI-style messages with the engine's renderer
(C++, the one `llamaprof run --chat` uses): chat_format=None takes the GGUF's
tokenizer.chat_template (Llama.chat_format is then "chat_template.default", as in llama-cpp-python),
or name a built-in format (chatml, llama2, llama3, mistral-v7, gemma, phi3, zephyr) or a Jinja file.
Keywords it cannot honour (tools, functions, logprobs, ...) raise NotImplementedError naming the
keyword instead of being ignored.

Grammars: grammar=LlamaGrammar.from_string(...) / from_file / from_json_schema (the engine's GBNF
parser and JSON-schema converter) in __call__, create_completion and create_chat_completion;
create_chat_completion's response_format {"type": "json_object"} (any JSON object, or the given
"schema") and {"type": "json_schema", "json_schema": {"schema": ...}}. Generation ends when the
text is complete under the grammar and nothing can follow. Giving both grammar= and a JSON
response_format is a ValueError (llama-cpp-python lets response_format win silently).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from typing import Dict, Iterator, List, Optional, Sequence, Union

from . import _llamaprof
from .llama_grammar import LlamaGrammar, grammar_for_response_format
from .model import Completion, Model

LLAMA_DEFAULT_SEED = 0xFFFFFFFF


class Llama:
    def __init__(self, model_path: str, *, n_gpu_layers: int = 0, seed: int = LLAMA_DEFAULT_SEED,
                 n_ctx: int = 512, n_batch: int = 512, n_threads: Optional[int] = None,
                 n_threads_batch: Optional[int] = None, use_mmap: bool = True, use_mlock: bool = False,
                 logits_all: bool = False, verbose: bool = True, chat_format: Optional[str] = None, **kwargs):
        self.model_path = os.fspath(model_path)
        self.verbose = verbose
        self.seed = seed
        self._model = Model(self.model_path, n_threads=n_threads, n_ctx=n_ctx, n_batch=n_batch,
                            use_mmap=use_mmap, use_mlock=use_mlock)
        self.n_batch = self._model.n_batch
        self.n_threads = self._model.n_threads
        self.metadata: Dict[str, str] = self._model.metadata()
        # A model without a template still completes text; chat then raises naming the choice.
        self._chat_error: Optional[str] = None
        self._chat = None
        if chat_format is None:
            if "tokenizer.chat_template" in self.metadata:
                self._chat = self._model._engine.chat_format("")
                chat_format = "chat_template.default"
            else:
                names = ", ".join(_llamaprof.builtin_chat_formats())
                self._chat_error = (f"{self.model_path} has no tokenizer.chat_template: pass chat_format= "
                                    f"(built-in: {names}) or a template file")
        else:
            self._chat = self._model._engine.chat_format(os.fspath(chat_format))
        self.chat_format: Optional[str] = chat_format
        if verbose:
            h = self._model.hparams
            print(f"llamaprof: loaded {self.model_path} ({self._model.type_name}, {h['n_layer']} layers, "
                  f"n_embd {h['n_embd']}, n_vocab {h['n_vocab']}) in {self._model.load_ms:.1f} ms; "
                  f"n_ctx {self._model.n_ctx}, n_threads {self._model.n_threads}", file=sys.stderr)

    # --- llama-cpp-python accessors --------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The underlying llamaprof.Model (llama-cpp-python's is a ctypes handle)."""
        return self._model

    def n_ctx(self) -> int:
        return self._model.n_ctx

    def n_vocab(self) -> int:
        return self._model.n_vocab

    def n_embd(self) -> int:
        return self._model.hparams["n_embd"]

    def token_bos(self) -> int:
        return self._model.bos

    def token_eos(self) -> int:
        return self._model.eos

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> List[int]:
        return self._model.tokenize(text, add_bos=add_bos, special=special)

    def detokenize(self, tokens: Sequence[int], prev_tokens: Optional[Sequence[int]] = None,
                   special: bool = False) -> bytes:
        tokens = list(tokens)
        if prev_tokens:
            # The text these tokens add after prev_tokens (a leading space stays).
            prev = self._model.detokenize_bytes(list(prev_tokens))
            full = self._model.detokenize_bytes(list(prev_tokens) + tokens)
            return full[len(prev):] if full.startswith(prev) else self._model.detokenize_bytes(tokens)
        return self._model.detokenize_bytes(tokens)

    def reset(self) -> None:
        self._model.reset()

    def eval(self, tokens: Sequence[int]) -> None:
        self._model.eval(tokens)

    @property
    def scores(self):
        """The logits of the last step (llama-cpp-python keeps one row per position; this is the last)."""
        return self._model.logits

    # --- completions -------------------------------------------------------------------------------
    def __call__(self, prompt, *args, **kwargs):
        return self.create_completion(prompt, *args, **kwargs)

    def create_completion(self, prompt: Union[str, bytes, List[int]], suffix: Optional[str] = None,
                          max_tokens: Optional[int] = 16, temperature: float = 0.8, top_p: float = 0.95,
                          min_p: float = 0.05, typical_p: float = 1.0, logprobs: Optional[int] = None,
                          echo: bool = False, stop: Optional[Union[str, List[str]]] = None,
                          frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                          repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                          seed: Optional[int] = None, grammar: Optional[LlamaGrammar] = None, **ignored):
        prompt_text, add_bos = self._prompt_text(prompt)
        if logprobs is not None and (not isinstance(logprobs, int) or logprobs < 0):
            raise ValueError(f"logprobs must be None or an int >= 0 (got {logprobs!r})")
        kwargs = dict(max_tokens=0 if max_tokens is None else max_tokens, temperature=temperature, top_k=top_k,
                      top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                      frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, stop=stop,
                      seed=self._seed_for_call(seed), top_candidates=logprobs or 0,
                      logprobs=logprobs is not None, add_bos=add_bos, grammar=grammar)
        meta = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion", "created": int(time.time()),
                "model": self.model_path}
        if stream:
            return self._stream(meta, prompt_text, echo, logprobs, kwargs)
        t0 = time.perf_counter()
        r = self._model.generate(prompt_text, **kwargs)
        self._print_timings(r, time.perf_counter() - t0)
        text = r.text
        lp = None
        if logprobs is not None:
            lp = self._logprobs(r, prompt_text, echo, logprobs)
        if echo:
            text = prompt_text + text
        return {**meta,
                "choices": [{"text": text, "index": 0, "logprobs": lp, "finish_reason": _finish(r.finish_reason)}],
                "usage": {"prompt_tokens": len(r.prompt_tokens), "completion_tokens": len(r.tokens),
                          "total_tokens": len(r.prompt_tokens) + len(r.tokens)}}

    def _stream(self, meta: dict, prompt_text: str, echo: bool, logprobs: Optional[int], kwargs: dict) -> Iterator:
        def chunk(text: str, lp, finish_reason) -> dict:
            return {**meta, "choices": [{"text": text, "index": 0, "logprobs": lp, "finish_reason": finish_reason}]}

        t0 = time.perf_counter()
        with self._model.stream(prompt_text, **kwargs) as s:
            if echo and prompt_text:
                yield chunk(prompt_text, None, None)
            offset = len(prompt_text)  # text offsets count from the prompt's start, as llama-cpp-python's
            streamed = 0
            for tok in s:
                if not tok.text:
                    continue  # held back (a partial UTF-8 sequence or a possible stop string)
                lp = None
                if logprobs is not None:
                    lp = {"tokens": [tok.text], "text_offset": [offset],
                          "token_logprobs": [tok.logprob],
                          "top_logprobs": [_top_dict(self._model, tok, logprobs)]}
                offset += len(tok.text)
                streamed += len(tok.text)
                yield chunk(tok.text, lp, None)
            s.close()
        r: Completion = s.result
        self._print_timings(r, time.perf_counter() - t0)
        # What the decoder held back until the end is text too; the final chunk carries it.
        yield chunk(r.text[streamed:], None, _finish(r.finish_reason))

    # --- chat ------------------------------------------------------------------------------------
    def create_chat_completion(self, messages: List[dict], functions=None, function_call=None, tools=None,
                               tool_choice=None, temperature: float = 0.2, top_p: float = 0.95, top_k: int = 40,
                               min_p: float = 0.05, typical_p: float = 1.0, stream: bool = False,
                               stop: Optional[Union[str, List[str]]] = None, seed: Optional[int] = None,
                               response_format=None, max_tokens: Optional[int] = None,
                               presence_penalty: float = 0.0, frequency_penalty: float = 0.0,
                               repeat_penalty: float = 1.0, tfs_z: float = 1.0, mirostat_mode: int = 0,
                               mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, model: Optional[str] = None,
                               logits_processor=None, grammar=None, logit_bias=None,
                               logprobs: Optional[bool] = None, top_logprobs: Optional[int] = None):
        """OpenAI's chat.completion (or, with stream=True, an iterator of chat.completion.chunk)."""
        unsupported = {"functions": functions is not None, "function_call": function_call is not None,
                       "tools": tools is not None, "tool_choice": tool_choice is not None,
                       "logits_processor": logits_processor is not None, "logit_bias": logit_bias is not None,
                       "logprobs": bool(logprobs), "top_logprobs": top_logprobs is not None,
                       "typical_p": typical_p != 1.0, "tfs_z": tfs_z != 1.0, "mirostat_mode": mirostat_mode != 0}
        for name, given in unsupported.items():
            if given:
                raise NotImplementedError(f"create_chat_completion: {name} is not supported by llamaprof")
        if self._chat is None:
            raise ValueError(self._chat_error)
        format_grammar = grammar_for_response_format(response_format)
        if format_grammar is not None and grammar is not None:
            raise ValueError("create_chat_completion: give grammar= or a JSON response_format, not both")
        grammar = format_grammar or grammar
        try:
            messages_json = json.dumps(messages)
        except (TypeError, ValueError) as e:
            raise ValueError(f"messages must be JSON-serializable: {e}") from None
        prompt = self._chat.render(messages_json, True)
        kwargs = dict(max_tokens=0 if max_tokens is None else max_tokens, temperature=temperature, top_k=top_k,
                      top_p=top_p, min_p=min_p, repeat_penalty=repeat_penalty,
                      frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, stop=stop,
                      seed=self._seed_for_call(seed), add_bos=self._chat.add_bos(prompt), special=True,
                      grammar=grammar)
        meta = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()), "model": model or self.model_path}
        if stream:
            return self._chat_stream(meta, prompt, kwargs)
        t0 = time.perf_counter()
        r = self._model.generate(prompt, **kwargs)
        self._print_timings(r, time.perf_counter() - t0)
        return {**meta, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": r.text}, "logprobs": None,
                             "finish_reason": _finish(r.finish_reason)}],
                "usage": {"prompt_tokens": len(r.prompt_tokens), "completion_tokens": len(r.tokens),
                          "total_tokens": len(r.prompt_tokens) + len(r.tokens)}}

    def _chat_stream(self, meta: dict, prompt: str, kwargs: dict) -> Iterator[dict]:
        def chunk(delta: dict, finish_reason) -> dict:
            return {**meta, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

        t0 = time.perf_counter()
        with self._model.stream(prompt, **kwargs) as s:
            yield chunk({"role": "assistant"}, None)
            streamed = 0
            for tok in s:
                if tok.text:
                    streamed += len(tok.text)
                    yield chunk({"content": tok.text}, None)
            s.close()
        r: Completion = s.result
        self._print_timings(r, time.perf_counter() - t0)
        rest = r.text[streamed:]  # what the decoder held back until the end
        yield chunk({"content": rest} if rest else {}, _finish(r.finish_reason))

    # --- helpers -----------------------------------------------------------------------------------
    def _prompt_text(self, prompt):
        if isinstance(prompt, (bytes, bytearray)):
            return bytes(prompt).decode("utf-8"), None
        if isinstance(prompt, str):
            return prompt, None
        if isinstance(prompt, (list, tuple)) and all(isinstance(t, int) for t in prompt):
            ids = list(prompt)
            add_bos = bool(ids) and ids[0] == self._model.bos
            if add_bos:
                ids = ids[1:]
            return self._model.detokenize(ids), add_bos
        raise TypeError(f"prompt must be str, bytes or a list of token ids, not {type(prompt).__name__}")

    def _seed_for_call(self, seed: Optional[int]) -> int:
        s = self.seed if seed is None else seed
        if s is None or s == -1 or s == LLAMA_DEFAULT_SEED:
            return random.SystemRandom().getrandbits(32)
        return s

    def _logprobs(self, r: Completion, prompt_text: str, echo: bool, n_top: int) -> dict:
        tokens: List[str] = []
        offsets: List[int] = []
        token_lps: List[Optional[float]] = []
        tops: List[Optional[Dict[str, float]]] = []
        offset = 0  # offsets count from the start of the prompt, echoed or not (as llama-cpp-python)
        if echo:
            prompt_lps = self._model.prompt_logprobs(r.prompt_tokens, n_top)
            for i, tid in enumerate(r.prompt_tokens):
                piece = _piece(self._model, tid)
                tokens.append(piece)
                offsets.append(offset)
                offset += len(piece) if not (i == 0 and tid == self._model.bos) else 0
                if i == 0:
                    token_lps.append(None)
                    tops.append(None)
                else:
                    lp, top = prompt_lps[i - 1]
                    token_lps.append(lp)
                    d = {_piece(self._model, t): v for t, v in top}
                    d[piece] = lp
                    tops.append(d)
        offset = len(prompt_text)
        end = offset + len(r.text)
        for step in r.steps:
            if offset >= end:
                break  # tokens of a stop string, not in the returned text
            piece = _piece(self._model, step.id)
            tokens.append(piece)
            offsets.append(offset)
            token_lps.append(step.logprob)
            tops.append(_top_dict(self._model, step, n_top))
            offset += len(piece)
        return {"tokens": tokens, "text_offset": offsets, "token_logprobs": token_lps, "top_logprobs": tops}

    def _print_timings(self, r: Completion, wall_s: float) -> None:
        if not self.verbose:
            return
        t = r.timings
        print(f"llamaprof: prompt {t['prompt_ms']:9.2f} ms / {t['prompt_tokens']:5d} tokens "
              f"({t['prompt_tps']:8.2f} tokens/s)\n"
              f"llamaprof: eval   {t['gen_ms']:9.2f} ms / {t['gen_tokens']:5d} tokens "
              f"({t['gen_tps']:8.2f} tokens/s)\n"
              f"llamaprof: total  {wall_s * 1000:9.2f} ms", file=sys.stderr)

    def __repr__(self) -> str:
        return f"llamaprof.Llama(model_path={self.model_path!r}, n_ctx={self.n_ctx()})"


def _finish(reason: str) -> str:
    # llama-cpp-python reports "stop" or "length"; a cancelled generation stopped early.
    return "length" if reason == "length" else "stop"


def _piece(model: Model, token: int) -> str:
    return model.token_to_piece(token).decode("utf-8", errors="ignore")


def _top_dict(model: Model, step, n_top: int) -> Dict[str, float]:
    d = {_piece(model, c.id): c.logprob for c in step.candidates[:n_top]}
    if step.logprob is not None:
        d[_piece(model, step.id)] = step.logprob
    return d
