"""The native API: Model (load, tokenize, generate, stream, logits) and its result types.

Every call that computes releases the GIL: the engine runs on a worker thread while the calling
thread waits, waking every 50 ms to let Python handle signals. Ctrl-C (KeyboardInterrupt) stops
a generation cleanly at the next token boundary (a long prompt is evaluated to its end first),
and then the KeyboardInterrupt propagates; the Model stays usable. Model.cancel() (from another
thread) or Stream.cancel() stops a generation without an exception: finish_reason "cancelled".
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator, List, NamedTuple, Optional, Sequence, Union

from . import _llamaprof

DEFAULT_SEED = 0xFFFFFFFF  # the engine's default seed (a fixed seed like any other), as the CLI's
_U64 = (1 << 64) - 1

Text = Union[str, bytes, bytearray]


class Candidate(NamedTuple):
    """One of the most likely next tokens at a step."""

    id: int
    text: str  # the token's piece (invalid UTF-8 replaced)
    bytes: bytes  # the token's piece, exact
    p: float  # sampler probability (after penalties, before truncation)
    logprob: float  # log-softmax of the raw logits over the whole vocabulary


@dataclasses.dataclass
class Token:
    """One generated token."""

    index: int
    id: int
    text: str  # text this token completed (may be empty: UTF-8 or stop-string hold-back)
    bytes: bytes
    latency_ms: float  # forward pass + sampling for this token
    logprob: Optional[float]  # log-probability of the sampled token (generate(logprobs=True))
    candidates: List[Candidate]

    @classmethod
    def _from(cls, d: dict) -> "Token":
        return cls(d["index"], d["id"], d["piece"], d["piece_bytes"], d["latency_ms"], d["logprob"],
                   [Candidate(*c) for c in d["candidates"]])


@dataclasses.dataclass
class Completion:
    """The result of Model.generate() (and Stream.result)."""

    text: str  # generated text, cut before a stop string
    text_bytes: bytes
    tokens: List[int]  # generated token ids (a stop string's tokens included)
    prompt_tokens: List[int]
    finish_reason: str  # "stop" | "length" | "cancelled"
    timings: dict  # load_ms, prompt_tokens, prompt_ms, prompt_tps, gen_tokens, gen_ms, gen_tps, sample_ms
    steps: List[Token]

    @property
    def candidates(self) -> List[List[Candidate]]:
        """The top_candidates most likely tokens of every step, most likely first."""
        return [s.candidates for s in self.steps]

    @property
    def logprobs(self) -> List[Optional[float]]:
        return [s.logprob for s in self.steps]

    @classmethod
    def _from(cls, d: dict) -> "Completion":
        return cls(d["text"], d["text_bytes"], d["tokens"], d["prompt_tokens"], d["finish_reason"],
                   d["timings"], [Token._from(s) for s in d["steps"]])


class Stream:
    """Iterator over the tokens of a running generation (Model.stream()).

    After the last token, `result` holds the Completion. close() (or leaving a `with` block, or
    dropping the iterator) cancels a generation that is still running and waits for it.
    """

    def __init__(self, job):
        self._job = job
        self.result: Optional[Completion] = None

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Token:
        if self._job is None:
            raise StopIteration
        d = self._job.next()
        if d is None:
            self._finish()
            raise StopIteration
        return Token._from(d)

    def cancel(self) -> None:
        """Stops before the next forward pass; the iteration ends with finish_reason "cancelled"."""
        if self._job is not None:
            self._job.cancel()

    def close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._finish()

    def _finish(self) -> None:
        job, self._job = self._job, None
        self.result = Completion._from(job.result())

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        job = getattr(self, "_job", None)
        if job is not None:
            job.cancel()  # the native Job's destructor joins the worker


def _seed(seed: Optional[int]) -> int:
    if seed is None:
        return DEFAULT_SEED
    if not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {type(seed).__name__}")
    return seed & _U64  # -1 and friends wrap like C's uint64_t


_SPECULATIVE_KEYS = ("draft_max", "ngram_min", "ngram_max", "draft_oracle", "draft_model")


def _speculative_args(speculative) -> dict:
    """The engine's speculative-decoding arguments from Model.generate's speculative=."""
    if speculative is None:
        return {}
    if hasattr(speculative, "native_params"):
        return speculative.native_params()
    if isinstance(speculative, dict):
        unknown = sorted(set(speculative) - set(_SPECULATIVE_KEYS))
        if unknown:
            raise ValueError(f"speculative: unknown keys {unknown} (known: {', '.join(_SPECULATIVE_KEYS)})")
        args = {k: int(v) for k, v in speculative.items() if k not in ("draft_oracle", "draft_model")}
        if "draft_oracle" in speculative:
            args["draft_oracle"] = [int(t) for t in speculative["draft_oracle"]]
        if speculative.get("draft_model") is not None:
            draft = speculative["draft_model"]
            if not isinstance(draft, Model):
                raise TypeError(f"speculative: draft_model must be a llamaprof.Model, got {type(draft).__name__}")
            args["draft_model"] = draft._engine
        return args
    raise TypeError(f"speculative: expected a LlamaPromptLookupDecoding or a dict, got {type(speculative).__name__} "
                    "(a separate draft model is not supported)")


def _stop_list(stop) -> List[str]:
    if stop is None:
        return []
    if isinstance(stop, (str, bytes)):
        stop = [stop]
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in stop]


class Model:
    """A GGUF model loaded with one inference context (KV cache, buffers, worker threads).

    Model(path, n_threads=None, n_ctx=0, n_batch=512, use_mmap=True, use_mlock=False, prefetch=False,
          *, logits_all=False, embeddings=False, vocab_only=False, type_k="f16", type_v="f16")
      n_threads None: one per physical core. n_ctx 0: the model's training context, at most 4096.
      logits_all: eval() keeps every position's logits; embeddings: it keeps the final hidden
      states too (Llama.embed); vocab_only: the tokenizer only, no context (nothing can be evaluated);
      type_k / type_v: the KV cache's element types, "f16", "f32" or "q8_0" (about half of f16).
    Raises FileNotFoundError (no such file), ValueError (malformed or unsupported file, bad
    argument) or RuntimeError, with the engine's message.
    """

    def __init__(self, path: Union[str, os.PathLike], n_threads: Optional[int] = None, n_ctx: int = 0,
                 n_batch: int = 512, use_mmap: bool = True, use_mlock: bool = False, prefetch: bool = False, *,
                 logits_all: bool = False, embeddings: bool = False, vocab_only: bool = False,
                 type_k: str = "f16", type_v: str = "f16"):
        if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
            raise ValueError(f"n_threads must be None or a positive int (got {n_threads!r})")
        if not isinstance(n_batch, int) or n_batch < 1:
            raise ValueError(f"n_batch must be a positive int (got {n_batch!r})")
        self._engine = _llamaprof.Engine(os.fspath(path), n_threads or 0, int(n_ctx), n_batch, bool(use_mmap),
                                         bool(use_mlock), bool(prefetch), bool(logits_all), bool(embeddings),
                                         bool(vocab_only), type_k, type_v)

    # --- facts -------------------------------------------------------------------------------
    path = property(lambda self: self._engine.path)
    n_ctx = property(lambda self: self._engine.n_ctx)
    n_batch = property(lambda self: self._engine.n_batch)
    n_threads = property(lambda self: self._engine.n_threads)
    n_vocab = property(lambda self: self._engine.n_vocab)
    n_past = property(lambda self: self._engine.n_past, doc="tokens in the KV cache")
    bos = property(lambda self: self._engine.bos)
    eos = property(lambda self: self._engine.eos)
    load_ms = property(lambda self: self._engine.load_ms)
    file_size = property(lambda self: self._engine.file_size)
    n_params = property(lambda self: self._engine.n_params)
    type_name = property(lambda self: self._engine.type_name)
    weights_huge_pages_pct = property(
        lambda self: self._engine.weights_huge_pages_pct,
        doc="percent of the model file mapped by 2 MiB pages now (None without /proc); decode is "
            "5-9% slower on 4 KiB pages")
    hparams = property(lambda self: self._engine.hparams)

    def metadata(self) -> dict:
        """Every GGUF metadata key with its value rendered as text (arrays abbreviated)."""
        return self._engine.metadata()

    # --- tokenizer ---------------------------------------------------------------------------
    def tokenize(self, text: Text, add_bos: Optional[bool] = None, special: bool = False) -> List[int]:
        """Token ids of text. add_bos None: the model's tokenizer.ggml.add_bos_token."""
        return self._engine.tokenize(text, add_bos, special)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.detokenize_bytes(tokens).decode("utf-8", errors="replace")

    def detokenize_bytes(self, tokens: Sequence[int]) -> bytes:
        return self._engine.detokenize(list(tokens))

    def token_to_piece(self, token: int) -> bytes:
        return self._engine.token_to_piece(token)

    # --- generation --------------------------------------------------------------------------
    def _start(self, prompt, stream, max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, stop, seed,
               top_candidates, repeat_last_n, frequency_penalty, presence_penalty, add_bos, special, logprobs,
               keep_cache, ignore_eos=False, grammar=None, speculative=None):
        from .llama_grammar import native_grammar

        return self._engine.start(prompt, stream=stream, logprobs=bool(logprobs), max_tokens=int(max_tokens),
                                  temperature=float(temperature), top_k=int(top_k), top_p=float(top_p),
                                  min_p=float(min_p), repeat_penalty=float(repeat_penalty),
                                  repeat_last_n=int(repeat_last_n), frequency_penalty=float(frequency_penalty),
                                  presence_penalty=float(presence_penalty), stop=_stop_list(stop),
                                  seed=_seed(seed), top_candidates=int(top_candidates), add_bos=add_bos,
                                  special=bool(special), keep_cache=bool(keep_cache),
                                  ignore_eos=bool(ignore_eos), grammar=native_grammar(grammar),
                                  **_speculative_args(speculative))

    def generate(self, prompt: Text, max_tokens: int = 128, temperature: float = 0.8, top_k: int = 40,
                 top_p: float = 0.95, min_p: float = 0.05, repeat_penalty: float = 1.1, stop=None,
                 seed: Optional[int] = None, top_candidates: int = 0, *, repeat_last_n: int = 64,
                 frequency_penalty: float = 0.0, presence_penalty: float = 0.0, add_bos: Optional[bool] = None,
                 special: bool = False, logprobs: bool = False, keep_cache: bool = False,
                 ignore_eos: bool = False, grammar=None, speculative=None) -> Completion:
        """Generates from prompt; the defaults are the CLI's (`llamaprof run`).

        max_tokens <= 0: until EOS, a stop string or a full context. temperature <= 0: greedy.
        top_candidates N: each step records its N most likely tokens. logprobs: each step
        records the sampled token's log-probability. keep_cache: continue after the tokens already
        in the KV cache instead of starting over. ignore_eos: keep generating past end-of-generation
        tokens (fixed-length runs, as `llamaprof run --ignore-eos`). grammar: a LlamaGrammar; every
        token keeps the text in its language and generation stops ("stop") once the text is complete
        and nothing can follow. speculative: a LlamaPromptLookupDecoding (prompt lookup drafts,
        verified in one forward pass each; the output is the same as without), or a dict of
        draft_max, ngram_min, ngram_max, draft_oracle (benchmarks: a reference continuation to
        draft) and draft_model (a Model with the same vocabulary that drafts greedily instead of
        prompt lookup; busy while this generation runs); timings then count drafts (draft_tokens,
        draft_accepted) and passes (gen_passes).
        """
        job = self._start(prompt, False, max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, stop, seed,
                          top_candidates, repeat_last_n, frequency_penalty, presence_penalty, add_bos, special,
                          logprobs, keep_cache, ignore_eos, grammar, speculative)
        return Completion._from(job.result())

    def stream(self, prompt: Text, max_tokens: int = 128, temperature: float = 0.8, top_k: int = 40,
               top_p: float = 0.95, min_p: float = 0.05, repeat_penalty: float = 1.1, stop=None,
               seed: Optional[int] = None, top_candidates: int = 0, *, repeat_last_n: int = 64,
               frequency_penalty: float = 0.0, presence_penalty: float = 0.0, add_bos: Optional[bool] = None,
               special: bool = False, logprobs: bool = False, keep_cache: bool = False,
               ignore_eos: bool = False, grammar=None, speculative=None) -> Stream:
        """Like generate(), but returns a Stream that yields each Token as soon as it is sampled.

        The text of the tokens joined equals generate()'s text for the same arguments.
        """
        return Stream(self._start(prompt, True, max_tokens, temperature, top_k, top_p, min_p, repeat_penalty,
                                  stop, seed, top_candidates, repeat_last_n, frequency_penalty, presence_penalty,
                                  add_bos, special, logprobs, keep_cache, ignore_eos, grammar, speculative))

    def cancel(self) -> None:
        """Stops the generation running on this model (from another thread): "cancelled"."""
        self._engine.cancel()

    # --- low level ---------------------------------------------------------------------------
    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluates tokens after those in the KV cache; logits then holds the last position's."""
        self._engine.eval(list(tokens))

    def reset(self) -> None:
        """Forgets the KV cache."""
        self._engine.kv_clear()

    @property
    def logits(self) -> memoryview:
        """The logits of the last step: a read-only, zero-copy float32 memoryview of n_vocab.

        After generate() it holds the logits the last generated token was sampled from (after
        eval(), the last position's). The memory belongs to the model and is overwritten by the
        next forward pass: copy it (numpy.array(m.logits)) to keep it; numpy.asarray(m.logits)
        wraps it without copying.
        """
        return memoryview(self._engine)

    def prompt_logprobs(self, tokens: Sequence[int], n_top: int = 0) -> list:
        """[(logprob of tokens[i] given tokens[:i], [(id, logprob) x n_top])] for i >= 1."""
        return self._engine.prompt_logprobs(list(tokens), int(n_top))

    # --- profiling ---------------------------------------------------------------------------
    def profile(self, prompt: Text, max_tokens: int = 128, op_profiling: bool = True, **generate_kwargs) -> dict:
        """Runs one generation and returns a profile record (see llamaprof.profile)."""
        from .profile import profile_generation

        return profile_generation(self, prompt, max_tokens=max_tokens, op_profiling=op_profiling,
                                  **generate_kwargs)

    def __repr__(self) -> str:
        return (f"llamaprof.Model({self.path!r}, type={self.type_name}, n_ctx={self.n_ctx}, "
                f"n_threads={self.n_threads})")
