"""Llama: llama-cpp-python 0.3's Llama class, on the llamaprof engine.

A script written for llama-cpp-python runs with only its import changed:

    from llamaprof import Llama          # was: from llama_cpp import Llama
    llm = Llama(model_path="m.gguf", n_ctx=2048, n_threads=2, verbose=False)
    out = llm("Q: Name the planets. A:", max_tokens=32, stop=["Q:"], echo=True)
    print(out["choices"][0]["text"], out["usage"])

As in llama-cpp-python, completions run a Python loop over the engine's primitives: eval() (the
forward pass, C++), the logits processors (Python, numpy), the engine's sampler chain (C++) and
stopping criteria. Results have llama-cpp-python's dict shapes (OpenAI "text_completion",
"chat.completion", "embedding"). What it does as llama-cpp-python does:
  - seeds: Llama(seed=S); each completion without seed= first moves the seed on,
    seed = random.Random(seed).randint(0, 2**32), and samples with it, so a fresh Llama(seed=S)
    gives the same sequence of completions (even with the default LLAMA_DEFAULT_SEED); seed=N in a
    call sets it. set_seed(), and LlamaState carries the seed.
  - prompts: a str prompt gets BOS (when the model adds one) and its special tokens ("<s>",
    "<|im_end|>") parsed; a list of ids is used as given (no BOS added). len(prompt) >= n_ctx is
    a ValueError; max_tokens None or <= 0 runs to the end of the context.
  - the KV cache is kept between calls: a prompt that shares a prefix with the tokens evaluated
    so far evaluates only the rest (the chat turns of create_chat_completion too); set_cache()
    with LlamaRAMCache / LlamaDiskCache keeps the states of several earlier prompts.
  - detokenize(): each token's piece, control tokens only with special=True, one leading space
    dropped when the first token is BOS (so detokenize(tokenize(b"Hello")) == b"Hello", and without
    the BOS it is b" Hello").
  - logit_bias is a logits processor applied after those passed in; logprobs, echo, stop, stream
    as llama-cpp-python (echo's first token has no logprob; BOS is not listed).
  - generate(): tokens sent into the generator are drafts checked against the samples (its
    speculative decoding; they need logits_all=True). draft_model=LlamaPromptLookupDecoding(...)
    (or any LlamaDraftModel) drafts before every forward pass, as llama-cpp-python's (it sets
    logits_all=True); the samples are the same as without drafts. eval_tokens / eval_logits,
    pickling (the constructor's arguments), close() and `with Llama(...) as llm:`.
Intentional differences:
  - logprobs works without logits_all=True (llama-cpp-python raises ValueError); the prompt's
    logprobs for echo=True are then computed in a scratch context.
  - scores is (n_ctx, n_vocab): with logits_all every evaluated position has its row; without it
    the last position of every eval() has its row (the row each token is sampled from) and the
    other rows are zero (llama-cpp-python leaves them unset). The zeroed array costs address space,
    and memory only for the rows written.
  - the stopping criteria get the logits the last token was sampled from (llama-cpp-python passes
    a row at an offset that is 0 for the first token).
  - the repetition penalties see the tokens generated in this call, as llama-cpp-python's sampler
    does (llama.cpp's own programs also count the prompt).
  - create_chat_completion's logprobs give each token's UTF-8 bytes (OpenAI's shape; llama-cpp-
    python gives None). chat_format takes llama.cpp's built-in names (chatml, llama2, llama3,
    mistral-v7, gemma, phi3, zephyr) and llama-cpp-python's llama-2, llama-3, phi-3 as aliases
    of them; those render llama.cpp's layouts (llama-2: no <<SYS>> block, as llama.cpp's llama2),
    and llama-cpp-python's other formats (alpaca, vicuna, mistral-instruct, ...) are errors.
  - LlamaDiskCache keeps pickle files (llama-cpp-python uses the diskcache package).
  - keywords that do not change what a CPU run computes (n_gpu_layers, main_gpu, split_mode,
    tensor_split, offload_kqv, op_offload, numa, no_perf, n_ubatch) warn when they ask for
    something llamaprof does not do (a GPU, a NUMA policy); unknown keywords warn; keywords that
    would change the result and are not implemented raise NotImplementedError naming them
    (rope/yarn overrides, kv_overrides, lora_*, chat_handler, tokenizer,
    type_k/type_v other than GGML_TYPE_F32/F16/Q8_0, suffix, typical_p, tfs_z, mirostat,
    tools, ...). type_k/type_v F32, F16 and Q8_0 are the engine's KV cache types (Q8_0 needs a
    head size that is a multiple of 32, as llama.cpp's).
  - a model that cannot be loaded raises ValueError (as llama-cpp-python) with the engine's reason.
Ctrl-C raises KeyboardInterrupt between tokens; the Llama stays usable.

Grammars: grammar=LlamaGrammar.from_string(...) / from_file / from_json_schema (the engine's GBNF
parser and JSON-schema converter) in __call__, create_completion, create_chat_completion, generate and sample (the engine's
grammar stage, a constraint on its sampler: the pick is checked first, the whole vocabulary
filtered only when it is rejected);
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
import warnings
from collections import deque
from typing import Deque, Dict, Generator, Iterator, List, Optional, Sequence, Union

import numpy as np

from . import _llamaprof
from .llama_cache import BaseLlamaCache, LlamaCache, LlamaDiskCache, LlamaRAMCache  # noqa: F401
from .llama_sampling import (LlamaState, LogitsProcessorList, MinTokensLogitsProcessor,  # noqa: F401
                             StoppingCriteriaList, logit_bias_processor, longest_token_prefix)
from .llama_tokenizer import LlamaTokenizer
from .model import Model
from .llama_grammar import LlamaGrammar, grammar_for_response_format, native_grammar  # noqa: F401

LLAMA_DEFAULT_SEED = 0xFFFFFFFF
# llama.cpp's enums that llama-cpp-python users pass as ints.
LLAMA_POOLING_TYPE_UNSPECIFIED, LLAMA_POOLING_TYPE_NONE, LLAMA_POOLING_TYPE_MEAN = -1, 0, 1
LLAMA_POOLING_TYPE_CLS, LLAMA_POOLING_TYPE_LAST, LLAMA_POOLING_TYPE_RANK = 2, 3, 4
_POOLING_NAMES = {0: "none", 1: "mean", 2: "cls", 3: "last"}
GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 = 0, 1, 8
_KV_TYPES = {None: "f16", GGML_TYPE_F32: "f32", GGML_TYPE_F16: "f16", GGML_TYPE_Q8_0: "q8_0"}

# Constructor keywords that only place or schedule the computation: (default, what is not done).
_PLACEMENT_KEYWORDS = {"n_gpu_layers": (0, "runs on the CPU only"), "main_gpu": (0, "runs on the CPU only"),
                       "split_mode": (1, "runs on the CPU only"), "tensor_split": (None, "runs on the CPU only"),
                       "offload_kqv": (True, None), "op_offload": (None, None), "flash_attn": (False, None),
                       "numa": (False, "sets no NUMA policy"), "no_perf": (False, None),
                       "n_ubatch": (512, "evaluates in batches of n_batch"), "swa_full": (None, None),
                       "rope_scaling_type": (-1, None), "attention_type": (-1, None)}
# Constructor keywords that would change the result: (default,) — anything else raises.
_UNSUPPORTED_KEYWORDS = {"kv_overrides": None, "rope_freq_base": 0.0, "rope_freq_scale": 0.0,
                         "yarn_ext_factor": -1.0, "yarn_attn_factor": 1.0, "yarn_beta_fast": 32.0,
                         "yarn_beta_slow": 1.0, "yarn_orig_ctx": 0, "lora_base": None, "lora_path": None,
                         "lora_scale": 1.0, "chat_handler": None, "tokenizer": None,
                         "spm_infill": False}


class Llama:
    def __init__(self, model_path: str, *, vocab_only: bool = False, use_mmap: bool = True, use_mlock: bool = False,
                 seed: int = LLAMA_DEFAULT_SEED, n_ctx: int = 512, n_batch: int = 512,
                 n_threads: Optional[int] = None, n_threads_batch: Optional[int] = None,
                 pooling_type: int = LLAMA_POOLING_TYPE_UNSPECIFIED, logits_all: bool = False,
                 embedding: bool = False, last_n_tokens_size: int = 64, chat_format: Optional[str] = None,
                 type_k: Optional[int] = None, type_v: Optional[int] = None, verbose: bool = True,
                 draft_model=None, **kwargs):
        self.model_path = os.fspath(model_path)
        self.verbose = verbose
        # What pickling re-creates the Llama from (llama-cpp-python's __getstate__ gives its arguments).
        self._init_args = dict(model_path=self.model_path, vocab_only=vocab_only, use_mmap=use_mmap,
                               use_mlock=use_mlock, seed=seed, n_ctx=n_ctx, n_batch=n_batch, n_threads=n_threads,
                               n_threads_batch=n_threads_batch, pooling_type=pooling_type, logits_all=logits_all,
                               embedding=embedding, last_n_tokens_size=last_n_tokens_size, chat_format=chat_format,
                               type_k=type_k, type_v=type_v, verbose=verbose, draft_model=draft_model, **kwargs)
        self._check_constructor_keywords(kwargs, n_threads, n_threads_batch, type_k, type_v)
        if draft_model is not None and not callable(draft_model):
            raise TypeError(f"Llama: draft_model must be a LlamaDraftModel (callable), got {type(draft_model).__name__}")
        self.draft_model = draft_model
        if draft_model is not None:
            logits_all = True  # verifying drafts samples from every position's logits (llama-cpp-python too)
        if not os.path.exists(self.model_path):
            raise ValueError(f"Model path does not exist: {self.model_path}")
        try:
            self._model = Model(self.model_path, n_threads=n_threads, n_ctx=n_ctx, n_batch=n_batch, use_mmap=use_mmap,
                                use_mlock=use_mlock, logits_all=logits_all, embeddings=embedding,
                                vocab_only=vocab_only, type_k=_KV_TYPES.get(type_k, "f16"),
                                type_v=_KV_TYPES.get(type_v, "f16"))
        except (RuntimeError, OSError, ValueError) as e:
            raise ValueError(f"Failed to load model from file: {self.model_path}: {e}") from None
        self._engine = self._model._engine
        self._seed = seed
        self._logits_all = bool(logits_all)
        self._embedding = bool(embedding)
        self._vocab_only = bool(vocab_only)
        self._closed = False
        if pooling_type not in (LLAMA_POOLING_TYPE_UNSPECIFIED, *_POOLING_NAMES):
            raise NotImplementedError(f"pooling_type={pooling_type} (rank pooling) is not supported by llamaprof")
        self._pooling = "" if pooling_type == LLAMA_POOLING_TYPE_UNSPECIFIED else _POOLING_NAMES[pooling_type]
        self.last_n_tokens_size = last_n_tokens_size
        self.cache: Optional[BaseLlamaCache] = None
        self._sampler = None
        self._n_ctx = n_ctx if vocab_only else self._model.n_ctx
        self.n_batch = n_batch if vocab_only else self._model.n_batch
        self.n_threads = n_threads if vocab_only else self._model.n_threads
        self._n_vocab = self._model.n_vocab
        self.n_tokens = 0
        self._requires_eval = True  # the logits of the last position are not known
        self._engine_evals = None  # the engine's forward-pass count after this Llama's last eval
        self.input_ids = np.zeros((self._n_ctx,), dtype=np.intc)
        # np.zeros maps pages lazily: a row costs memory only once written.
        self.scores = np.zeros((0 if vocab_only else self._n_ctx, self._n_vocab), dtype=np.single)
        self.metadata: Dict[str, str] = self._model.metadata()
        self._setup_chat(chat_format)
        if verbose:
            h = self._model.hparams
            print(f"llamaprof: loaded {self.model_path} ({h['arch']}, {h['n_layer']} layers, n_embd {h['n_embd']}, "
                  f"n_vocab {h['n_vocab']}) in {self._model.load_ms:.1f} ms; n_ctx {self._n_ctx}", file=sys.stderr)

    def _check_constructor_keywords(self, kwargs: dict, n_threads, n_threads_batch, type_k, type_v) -> None:
        for name, value in kwargs.items():
            if name in _PLACEMENT_KEYWORDS:
                default, missing = _PLACEMENT_KEYWORDS[name]
                if value != default and missing:
                    warnings.warn(f"Llama: {name}={value!r} ignored: llamaprof {missing}", RuntimeWarning, stacklevel=3)
            elif name in _UNSUPPORTED_KEYWORDS:
                if value != _UNSUPPORTED_KEYWORDS[name]:
                    raise NotImplementedError(f"Llama: {name}={value!r} is not supported by llamaprof")
            else:
                warnings.warn(f"Llama: unknown keyword {name}={value!r} ignored", RuntimeWarning, stacklevel=3)
        if n_threads_batch is not None and n_threads_batch != n_threads:
            warnings.warn(f"Llama: n_threads_batch={n_threads_batch} ignored: llamaprof uses n_threads for "
                          "prompts and generation", RuntimeWarning, stacklevel=3)
        for name, t in (("type_k", type_k), ("type_v", type_v)):
            if t is not None and t not in _KV_TYPES:
                raise NotImplementedError(f"Llama: {name}={t}: llamaprof's KV caches are GGML_TYPE_F32 (0), "
                                          "GGML_TYPE_F16 (1) or GGML_TYPE_Q8_0 (8)")

    def _setup_chat(self, chat_format: Optional[str]) -> None:
        # A model without a template still completes text; chat then raises naming the choice.
        self._chat_error: Optional[str] = None
        self._chat = None
        if chat_format is None:
            if "tokenizer.chat_template" in self.metadata:
                self._chat = self._engine.chat_format("")
                chat_format = "chat_template.default"
            else:
                names = ", ".join(_llamaprof.builtin_chat_formats())
                self._chat_error = (f"{self.model_path} has no tokenizer.chat_template: pass chat_format= "
                                    f"(built-in: {names}) or a template file")
        else:
            self._chat = self._engine.chat_format(os.fspath(chat_format))
        self.chat_format: Optional[str] = chat_format

    # --- accessors ---------------------------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The underlying llamaprof.Model (llama-cpp-python's is a ctypes handle)."""
        return self._model

    @property
    def _input_ids(self) -> np.ndarray:
        return self.input_ids[: self.n_tokens]

    @property
    def _scores(self) -> np.ndarray:
        return self.scores[: self.n_tokens, :]

    @property
    def eval_tokens(self) -> Deque[int]:
        return deque(self.input_ids[: self.n_tokens].tolist(), maxlen=self._n_ctx)

    @property
    def eval_logits(self) -> Deque[List[float]]:
        return deque(self.scores[: self.n_tokens, :].tolist(), maxlen=self._n_ctx if self._logits_all else 1)

    def __getstate__(self) -> dict:
        return dict(self._init_args, seed=self._seed)

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def n_ctx(self) -> int:
        return self._n_ctx

    def n_vocab(self) -> int:
        return self._n_vocab

    def n_embd(self) -> int:
        return self._model.hparams["n_embd"]

    def token_bos(self) -> int:
        return self._model.bos

    def token_eos(self) -> int:
        return self._model.eos

    def token_nl(self) -> int:
        # The newline's own token: its byte token (<0x0A>, SPM) or "\n" / "Ċ" (BPE).
        return self._engine.tokenize(b"\n", False, False)[-1]

    def pooling_type(self) -> int:
        name = self._pooling or self._engine.default_pooling()
        return {v: k for k, v in _POOLING_NAMES.items()}[name]

    def tokenizer(self) -> LlamaTokenizer:
        return LlamaTokenizer(self)

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> List[int]:
        return self._engine.tokenize(text, bool(add_bos), bool(special))

    def detokenize(self, tokens: Sequence[int], prev_tokens: Optional[Sequence[int]] = None,
                   special: bool = False) -> bytes:
        """The tokens' pieces (control tokens only with special); one leading space dropped when the
        first token is BOS. prev_tokens is accepted and unused, as in llama-cpp-python."""
        tokens = [int(t) for t in tokens]
        out = b"".join(self._engine.piece(t, bool(special)) for t in tokens)
        if tokens and tokens[0] == self.token_bos() and out[:1] == b" ":
            out = out[1:]
        return out

    def set_cache(self, cache: Optional[BaseLlamaCache]) -> None:
        self.cache = cache

    def set_seed(self, seed: int) -> None:
        self._seed = seed

    # --- low level: eval, sample, generate ------------------------------------------------------------
    def reset(self) -> None:
        """Forgets the evaluated tokens (the KV rows are overwritten by the next eval)."""
        self.n_tokens = 0
        self._requires_eval = True

    def eval(self, tokens: Sequence[int]) -> None:
        """Evaluates tokens after the first n_tokens; stores their ids and logits rows."""
        self._check_open()
        tokens = [int(t) for t in tokens]
        if not tokens:
            return
        if not self._cache_is_ours():
            raise RuntimeError("the KV cache no longer holds the tokens this Llama evaluated (it was used "
                               "through Llama.model): call reset() first")
        if self._engine.n_past > self.n_tokens:
            self._engine.kv_truncate(self.n_tokens)
        self._engine.eval(tokens)
        self._engine_evals = self._engine.stats()["n_evals"]
        rows = self._engine.logits_rows()
        n0, n = self.n_tokens, len(tokens)
        self.input_ids[n0:n0 + n] = tokens
        if self._logits_all:
            self.scores[n0:n0 + n, :] = rows
        else:
            self.scores[n0 + n - 1, :] = rows[-1]
        self.n_tokens += n
        self._requires_eval = False

    def _new_sampler(self, top_k=40, top_p=0.95, min_p=0.05, typical_p=1.0, temp=0.80, repeat_penalty=1.0,
                     frequency_penalty=0.0, presence_penalty=0.0, tfs_z=1.0, mirostat_mode=0, mirostat_eta=0.1,
                     mirostat_tau=5.0, penalize_nl=True, logits_processor=None, grammar=None) -> "_Sampler":
        _refuse_sampling(typical_p=typical_p, tfs_z=tfs_z, mirostat_mode=mirostat_mode)
        stage = None if grammar is None else _llamaprof.GrammarStage(self._engine, native_grammar(grammar))
        seed = self._seed
        if seed is None or seed == -1 or seed == LLAMA_DEFAULT_SEED:
            seed = random.SystemRandom().getrandbits(32)  # llama.cpp: the default seed means "random"
        native = _llamaprof.Sampler(temperature=float(temp), top_k=int(top_k), top_p=float(top_p), min_p=float(min_p),
                                    repeat_penalty=float(repeat_penalty), repeat_last_n=int(self.last_n_tokens_size),
                                    frequency_penalty=float(frequency_penalty),
                                    presence_penalty=float(presence_penalty), seed=int(seed) & ((1 << 64) - 1))
        return _Sampler(native, logits_processor, stage)

    def sample(self, top_k: int = 40, top_p: float = 0.95, min_p: float = 0.05, typical_p: float = 1.0,
               temp: float = 0.80, repeat_penalty: float = 1.0, frequency_penalty: float = 0.0,
               presence_penalty: float = 0.0, tfs_z: float = 1.0, mirostat_mode: int = 0, mirostat_eta: float = 0.1,
               mirostat_tau: float = 5.0, penalize_nl: bool = True,
               logits_processor: Optional[LogitsProcessorList] = None, grammar=None,
               idx: Optional[int] = None) -> int:
        """Samples a token from the logits of position idx (default: the last evaluated one)."""
        assert self.n_tokens > 0, "sample() needs evaluated tokens: call eval() first"
        sampler = self._sampler or self._new_sampler(top_k, top_p, min_p, typical_p, temp, repeat_penalty,
                                                     frequency_penalty, presence_penalty, tfs_z, mirostat_mode,
                                                     mirostat_eta, mirostat_tau, penalize_nl, logits_processor,
                                                     grammar)
        row = self.n_tokens - 1 if idx is None else idx
        return sampler.sample(self._input_ids, self.scores[row])

    def generate(self, tokens: Sequence[int], top_k: int = 40, top_p: float = 0.95, min_p: float = 0.05,
                 typical_p: float = 1.0, temp: float = 0.80, repeat_penalty: float = 1.0, reset: bool = True,
                 frequency_penalty: float = 0.0, presence_penalty: float = 0.0, tfs_z: float = 1.0,
                 mirostat_mode: int = 0, mirostat_tau: float = 5.0, mirostat_eta: float = 0.1,
                 penalize_nl: bool = True, logits_processor: Optional[LogitsProcessorList] = None,
                 stopping_criteria: Optional[StoppingCriteriaList] = None,
                 grammar=None) -> Generator[int, Optional[Sequence[int]], None]:
        """Yields sampled tokens forever (the caller stops); each is evaluated before the next.

        With reset (the default) the evaluated tokens that prefix `tokens` are kept: only the rest
        is evaluated. send(ids) appends ids after the yielded token.
        """
        self._check_open()
        self._sampler = self._new_sampler(top_k, top_p, min_p, typical_p, temp, repeat_penalty, frequency_penalty,
                                          presence_penalty, tfs_z, mirostat_mode, mirostat_eta, mirostat_tau,
                                          penalize_nl, logits_processor, grammar)
        tokens = [int(t) for t in tokens]
        if not self._cache_is_ours():
            self.reset()  # the cache was used through Llama.model: nothing of it can be kept
        if reset and self.n_tokens > 0:
            longest = self.longest_token_prefix(self._input_ids.tolist(), tokens)
            consumed = longest == len(tokens)
            if consumed and self.n_tokens == len(tokens) and not self._requires_eval:
                reset, tokens, reuse = False, [], 0  # the last logits are those of this very prompt
            else:
                reuse = longest - 1 if consumed else longest  # re-evaluate one token for its logits
            if reuse > 0:
                reset = False
                tokens = tokens[reuse:]
                self.n_tokens = reuse
                self._requires_eval = True
                if self.verbose:
                    print(f"Llama.generate: {reuse} prefix-match hit, remaining {len(tokens)} prompt tokens to eval",
                          file=sys.stderr)
        if reset:
            self.reset()
        sample_idx = self.n_tokens + len(tokens) - 1
        while True:
            tokens = self._with_drafts(tokens)
            self.eval(tokens)
            while sample_idx < self.n_tokens:
                if sample_idx != self.n_tokens - 1 and not self._logits_all:
                    raise RuntimeError("generate: sampling after tokens sent to the generator (drafts) needs the "
                                       "logits of every position: create the Llama with logits_all=True")
                # The processors see the tokens up to this position, not the drafts after it.
                token = self._sampler.sample(self.input_ids[: sample_idx + 1], self.scores[sample_idx])
                sample_idx += 1
                if stopping_criteria is not None and stopping_criteria(self._input_ids[:sample_idx],
                                                                       self.scores[sample_idx - 1]):
                    return
                sent = yield token
                tokens = [token] + ([int(t) for t in sent] if sent is not None else [])
                if sample_idx < self.n_tokens and token != self.input_ids[sample_idx]:
                    self.n_tokens = sample_idx
                    self._requires_eval = True
                    break

    def _with_drafts(self, tokens: List[int]) -> List[int]:
        """tokens followed by the draft model's proposal for what comes after them (cut to the context)."""
        room = self._n_ctx - self.n_tokens - len(tokens)
        if self.draft_model is None or not tokens or room <= 0:
            return tokens
        n = self.n_tokens + len(tokens)
        self.input_ids[self.n_tokens:n] = tokens
        draft = [int(t) for t in self.draft_model(self.input_ids[:n])]
        return tokens + draft[:room]

    longest_token_prefix = staticmethod(longest_token_prefix)

    @staticmethod
    def logits_to_logprobs(logits, axis: int = -1) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.single)
        mx = np.amax(logits, axis=axis, keepdims=True)
        mx = np.where(np.isfinite(mx), mx, 0)
        shifted = logits - mx
        with np.errstate(divide="ignore"):
            return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    # --- state ---------------------------------------------------------------------------------------
    def save_state(self) -> LlamaState:
        """The evaluated tokens, their logits rows, the seed and the engine's KV rows + last logits."""
        self._check_open()
        blob = self._engine.save_state()
        return LlamaState(input_ids=self.input_ids.copy(), scores=self._scores.copy(), n_tokens=self.n_tokens,
                          llama_state=blob, llama_state_size=len(blob), seed=self._seed)

    def load_state(self, state: LlamaState) -> None:
        self._check_open()
        self._engine.load_state(bytes(state.llama_state))
        self._engine_evals = self._engine.stats()["n_evals"]
        self.scores[: state.n_tokens, :] = state.scores
        self.input_ids = state.input_ids.copy()
        self.n_tokens = state.n_tokens
        self._seed = state.seed
        self._requires_eval = True  # as llama-cpp-python: the next prompt re-evaluates its last token

    # --- completions ---------------------------------------------------------------------------------
    def __call__(self, prompt, *args, **kwargs):
        return self.create_completion(prompt, *args, **kwargs)

    def create_completion(self, prompt: Union[str, bytes, List[int]], suffix: Optional[str] = None,
                          max_tokens: Optional[int] = 16, temperature: float = 0.8, top_p: float = 0.95,
                          min_p: float = 0.05, typical_p: float = 1.0, logprobs: Optional[int] = None,
                          echo: bool = False, stop: Optional[Union[str, List[str]]] = None,
                          frequency_penalty: float = 0.0, presence_penalty: float = 0.0,
                          repeat_penalty: float = 1.0, top_k: int = 40, stream: bool = False,
                          seed: Optional[int] = None, tfs_z: float = 1.0, mirostat_mode: int = 0,
                          mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, model: Optional[str] = None,
                          stopping_criteria: Optional[StoppingCriteriaList] = None,
                          logits_processor: Optional[LogitsProcessorList] = None, grammar=None,
                          logit_bias: Optional[Dict[int, float]] = None, **kwargs):
        for name, value in kwargs.items():
            raise NotImplementedError(f"create_completion: {name}={value!r} is not supported by llamaprof")
        if suffix is not None:
            raise NotImplementedError("create_completion: suffix (fill-in-the-middle) is not supported by llamaprof")
        if logprobs is not None and (not isinstance(logprobs, int) or logprobs < 0):
            raise ValueError(f"logprobs must be None or an int >= 0 (got {logprobs!r})")
        _refuse_sampling(typical_p=typical_p, tfs_z=tfs_z, mirostat_mode=mirostat_mode)
        self._check_open()
        prompt_tokens, prompt_text = self._prompt_tokens(prompt)
        gen = self._completion(prompt_tokens, prompt_text, dict(
            top_k=top_k, top_p=top_p, min_p=min_p, temp=temperature, repeat_penalty=repeat_penalty,
            frequency_penalty=frequency_penalty, presence_penalty=presence_penalty,
            stopping_criteria=stopping_criteria, logits_processor=logits_processor, grammar=grammar),
            max_tokens=max_tokens, logprobs=logprobs, echo=echo, stop=stop, stream=stream, seed=seed,
            model=model, logit_bias=logit_bias, empty_prompt=isinstance(prompt, (str, bytes, bytearray)) and not prompt)
        if stream:
            return gen
        return next(gen)

    def _prompt_tokens(self, prompt):
        if isinstance(prompt, (list, tuple)):
            if not all(isinstance(t, (int, np.integer)) for t in prompt):
                raise TypeError("a prompt list must hold token ids (ints)")
            ids = [int(t) for t in prompt]
            for i, t in enumerate(ids):
                if not 0 <= t < self._n_vocab:
                    raise ValueError(f"token id {t} at index {i} is outside the vocabulary (0..{self._n_vocab - 1})")
            if not ids:
                raise ValueError("the prompt is empty (no tokens to evaluate)")
            return ids, self.detokenize(ids).decode("utf-8", errors="ignore")
        if isinstance(prompt, (bytes, bytearray)):
            prompt = bytes(prompt).decode("utf-8")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, bytes or a list of token ids, not {type(prompt).__name__}")
        bos = [self.token_bos()] if self._engine.add_bos_default and self.token_bos() >= 0 else []
        body = self.tokenize(prompt.encode("utf-8"), add_bos=False, special=True) if prompt else []
        if not bos + body:
            raise ValueError("the prompt is empty (no tokens to evaluate)")
        return bos + body, prompt

    def _completion(self, prompt_tokens: List[int], prompt_text: str, sampling: dict, *, max_tokens, logprobs, echo,
                    stop, stream, seed, model, logit_bias, empty_prompt: bool = False) -> Iterator[dict]:
        """llama-cpp-python's _create_completion: yields stream chunks, or one response."""
        n_ctx = self._n_ctx
        meta = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion", "created": int(time.time()),
                "model": model if model is not None else self.model_path}
        if prompt_tokens[:2] == [self.token_bos()] * 2:
            warnings.warn('Detected duplicate leading BOS in prompt, this will likely reduce response quality, '
                          'consider removing it...', RuntimeWarning, stacklevel=3)
        if len(prompt_tokens) >= n_ctx:
            raise ValueError(f"Requested tokens ({len(prompt_tokens)}) exceed context window of {n_ctx}")
        if max_tokens is None or max_tokens <= 0:
            max_tokens = n_ctx - len(prompt_tokens)
        max_tokens = min(max_tokens, n_ctx - len(prompt_tokens))
        stops = [s.encode("utf-8") for s in ([stop] if isinstance(stop, str) else (stop or [])) if s]
        processors = sampling.pop("logits_processor")
        if logit_bias:
            processors = LogitsProcessorList(list(processors or []) + [logit_bias_processor(logit_bias)])
        if self.cache:
            try:
                item = self.cache[prompt_tokens]
                if (self.longest_token_prefix(item.input_ids[: item.n_tokens].tolist(), prompt_tokens) >
                        self.longest_token_prefix(self._input_ids.tolist(), prompt_tokens)):
                    self.load_state(item)
                    if self.verbose:
                        print("Llama._create_completion: cache hit", file=sys.stderr)
            except KeyError:
                if self.verbose:
                    print("Llama._create_completion: cache miss", file=sys.stderr)
        self.set_seed(seed if seed is not None else random.Random(self._seed).randint(0, 2 ** 32))
        stats0 = self._engine.stats()
        t0 = time.perf_counter()

        bos = self.token_bos()
        # An empty prompt: the completion starts after BOS, so its first piece loses its space.
        completion: List[int] = [bos] if empty_prompt else []
        lead = len(completion)  # that BOS is counted as a completion token (llama-cpp-python's usage)
        text = b""
        steps = []  # (logprob of the token, its top list) per generated token, for logprobs
        streamed = 0  # bytes of text handed out as chunks
        streamed_tokens = lead
        finish_reason = "length"
        for token in self.generate(prompt_tokens, logits_processor=processors, **sampling):
            if self._engine.is_eog(token):
                finish_reason = "stop"
                break
            completion.append(token)
            if logprobs is not None:
                steps.append(self._step_logprobs(token, self.scores[self.n_tokens - 1], logprobs))
            piece = self._engine.piece(token, False)
            if lead and len(completion) == 2 and piece[:1] == b" ":
                piece = piece[1:]  # detokenize([BOS, t]) drops t's leading space
            text += piece
            hits = [text.index(s) for s in stops if s in text]
            if hits:
                text, finish_reason = text[: min(hits)], "stop"
                break
            if stream:
                end = _safe_end(text, streamed, stops)
                if end > streamed:
                    chunk_tokens = completion[streamed_tokens:]
                    yield self._chunk(meta, text[streamed:end].decode("utf-8", errors="ignore"),
                                      self._chunk_logprobs(chunk_tokens, steps[streamed_tokens - lead:], prompt_text,
                                                           text[:streamed]) if logprobs is not None else None,
                                      None)
                    streamed, streamed_tokens = end, len(completion)
            if len(completion) >= max_tokens:
                break
        else:
            finish_reason = "stop"  # a stopping criterion ended the generator
        self._print_timings(stats0, time.perf_counter() - t0, len(completion))
        if self.cache:
            self.cache[prompt_tokens + completion] = self.save_state()
        if stream:
            rest = text[streamed:].decode("utf-8", errors="ignore")
            yield self._chunk(meta, rest, None, finish_reason)
            return
        text_str = text.decode("utf-8", errors="ignore")
        lp = None
        if logprobs is not None:
            lp = self._response_logprobs(prompt_tokens, prompt_text, completion[lead:], steps, text, logprobs, echo)
        if echo:
            text_str = prompt_text + text_str
        yield {**meta, "choices": [{"text": text_str, "index": 0, "logprobs": lp, "finish_reason": finish_reason}],
               "usage": {"prompt_tokens": len(prompt_tokens), "completion_tokens": len(completion),
                         "total_tokens": len(prompt_tokens) + len(completion)}}

    def _chunk(self, meta: dict, text: str, lp, finish_reason) -> dict:
        return {**meta, "choices": [{"text": text, "index": 0, "logprobs": lp, "finish_reason": finish_reason}]}

    def _piece_str(self, token: int) -> str:
        return self._engine.piece(token, False).decode("utf-8", errors="ignore")

    def _step_logprobs(self, token: int, logits: np.ndarray, n_top: int):
        lps = self.logits_to_logprobs(logits)
        top = []
        if n_top > 0:  # the n most likely, most likely first, without sorting the whole vocabulary
            top = np.argpartition(-lps, min(n_top, len(lps) - 1))[:n_top]
            top = top[np.argsort(-lps[top], kind="stable")]
        return float(lps[token]), [(int(t), float(lps[t])) for t in top]

    def _top_dict(self, token: int, step) -> Dict[str, float]:
        lp, top = step
        d = {self._piece_str(t): v for t, v in top}
        d[self._piece_str(token)] = lp
        return d

    def _add_logprobs(self, out: dict, tokens: List[int], steps, offset: int, end: Optional[int] = None) -> int:
        """Appends one entry per (token, step) at text offset `offset`; stops at text offset end
        (a stop string's tokens are not in the text). Returns the offset after them."""
        for tok, step in zip(tokens, steps):
            if end is not None and offset >= end:
                break
            piece = self._piece_str(tok)
            out["tokens"].append(piece)
            out["text_offset"].append(offset)
            out["token_logprobs"].append(None if step is None else step[0])
            out["top_logprobs"].append(None if step is None else self._top_dict(tok, step))
            offset += len(piece)
        return offset

    def _chunk_logprobs(self, tokens: List[int], steps, prompt_text: str, before: bytes) -> dict:
        out = {"tokens": [], "text_offset": [], "token_logprobs": [], "top_logprobs": []}
        self._add_logprobs(out, tokens, steps, len(prompt_text) + len(before.decode("utf-8", errors="ignore")))
        return out

    def _response_logprobs(self, prompt_tokens, prompt_text, completion, steps, text: bytes, n_top: int,
                           echo: bool) -> dict:
        out = {"tokens": [], "text_offset": [], "token_logprobs": [], "top_logprobs": []}
        offset = len(prompt_text)
        if echo:
            if self._logits_all:  # the rows of the prompt's positions are there
                rows = [self._step_logprobs(prompt_tokens[i], self.scores[i - 1], n_top)
                        for i in range(1, len(prompt_tokens))]
            else:
                rows = list(self._model.prompt_logprobs(prompt_tokens, n_top))
            # BOS is not listed; the first token listed has no logprob (OpenAI's convention).
            listed = [i for i, tok in enumerate(prompt_tokens) if tok != self.token_bos()]
            prompt_steps = [None if k == 0 else rows[i - 1] for k, i in enumerate(listed)]
            offset = self._add_logprobs(out, [prompt_tokens[i] for i in listed], prompt_steps, 0)
        self._add_logprobs(out, completion, steps, offset, offset + len(text.decode("utf-8", errors="ignore")))
        return out

    # --- chat ------------------------------------------------------------------------------------------
    def create_chat_completion(self, messages: List[dict], functions=None, function_call=None, tools=None,
                               tool_choice=None, temperature: float = 0.2, top_p: float = 0.95, top_k: int = 40,
                               min_p: float = 0.05, typical_p: float = 1.0, stream: bool = False,
                               stop: Optional[Union[str, List[str]]] = None, seed: Optional[int] = None,
                               response_format=None, max_tokens: Optional[int] = None,
                               presence_penalty: float = 0.0, frequency_penalty: float = 0.0,
                               repeat_penalty: float = 1.0, tfs_z: float = 1.0, mirostat_mode: int = 0,
                               mirostat_tau: float = 5.0, mirostat_eta: float = 0.1, model: Optional[str] = None,
                               logits_processor: Optional[LogitsProcessorList] = None, grammar=None,
                               logit_bias: Optional[Dict[int, float]] = None, logprobs: Optional[bool] = None,
                               top_logprobs: Optional[int] = None, **kwargs):
        """OpenAI's chat.completion (or, with stream=True, an iterator of chat.completion.chunk)."""
        for name, value in kwargs.items():
            raise NotImplementedError(f"create_chat_completion: {name}={value!r} is not supported by llamaprof")
        unsupported = {"functions": functions is not None, "function_call": function_call is not None,
                       "tools": tools is not None, "tool_choice": tool_choice is not None}
        for name, given in unsupported.items():
            if given:
                raise NotImplementedError(f"create_chat_completion: {name} is not supported by llamaprof")
        _refuse_sampling(typical_p=typical_p, tfs_z=tfs_z, mirostat_mode=mirostat_mode)
        if top_logprobs is not None and (not isinstance(top_logprobs, int) or not 0 <= top_logprobs <= 20):
            raise ValueError(f"top_logprobs must be an int from 0 to 20 (got {top_logprobs!r})")
        if self._chat is None:
            raise ValueError(self._chat_error)
        self._check_open()
        format_grammar = grammar_for_response_format(response_format)
        if format_grammar is not None and grammar is not None:
            raise ValueError("create_chat_completion: give grammar= or a JSON response_format, not both")
        grammar = format_grammar or grammar
        try:
            messages_json = json.dumps(messages)
        except (TypeError, ValueError) as e:
            raise ValueError(f"messages must be JSON-serializable: {e}") from None
        prompt = self._chat.render(messages_json, True)
        ids = self.tokenize(prompt.encode("utf-8"), add_bos=self._chat.add_bos(prompt), special=True)
        n_logprobs = (top_logprobs or 0) if logprobs else None
        gen = self._completion(ids, prompt, dict(
            top_k=top_k, top_p=top_p, min_p=min_p, temp=temperature, repeat_penalty=repeat_penalty,
            frequency_penalty=frequency_penalty, presence_penalty=presence_penalty, stopping_criteria=None,
            logits_processor=logits_processor, grammar=grammar), max_tokens=max_tokens, logprobs=n_logprobs, echo=False, stop=stop,
            stream=stream, seed=seed, model=model, logit_bias=logit_bias)
        if stream:
            return self._chat_chunks(gen)
        out = next(gen)
        choice = out["choices"][0]
        return {"id": "chat" + out["id"], "object": "chat.completion", "created": out["created"],
                "model": out["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": choice["text"]},
                             "logprobs": _chat_logprobs(choice["logprobs"]),
                             "finish_reason": choice["finish_reason"]}],
                "usage": out["usage"]}

    def _chat_chunks(self, gen: Iterator[dict]) -> Iterator[dict]:
        first = True
        for ch in gen:
            c = ch["choices"][0]
            base = {"id": "chat" + ch["id"], "object": "chat.completion.chunk", "created": ch["created"],
                    "model": ch["model"]}
            if first:
                yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "logprobs": None,
                                            "finish_reason": None}]}
                first = False
            delta = {"content": c["text"]} if c["text"] else {}
            if c["finish_reason"] is None and not delta:
                continue
            yield {**base, "choices": [{"index": 0, "delta": delta, "logprobs": _chat_logprobs(c["logprobs"]),
                                        "finish_reason": c["finish_reason"]}]}

    # --- embeddings -------------------------------------------------------------------------------------
    def create_embedding(self, input: Union[str, List[str]], model: Optional[str] = None) -> dict:
        """OpenAI's embedding list: one entry per input."""
        inputs = input if isinstance(input, list) else [input]
        embeds, total = self.embed(inputs, return_count=True)
        return {"object": "list",
                "data": [{"object": "embedding", "embedding": e, "index": i} for i, e in enumerate(embeds)],
                "model": model if model is not None else self.model_path,
                "usage": {"prompt_tokens": total, "total_tokens": total}}

    def embed(self, input: Union[str, List[str]], normalize: bool = False, truncate: bool = True,
              return_count: bool = False):
        """The embedding of each input (the engine's final hidden states, pooled as pooling_type;
        per token for pooling none); a single input gives a single embedding."""
        if not self._embedding:
            raise RuntimeError("Llama model must be created with embedding=True to call this method")
        self._check_open()
        inputs = [input] if isinstance(input, str) else list(input)
        data, total = [], 0
        for text in inputs:
            tokens = self.tokenize(text.encode("utf-8"))
            if truncate:
                tokens = tokens[: self.n_batch]
            if len(tokens) > self.n_batch:
                raise ValueError(f"Requested tokens ({len(tokens)}) exceed batch size of {self.n_batch}")
            total += len(tokens)
            rows = self._engine.embed(tokens, self._pooling, bool(normalize))
            pooled = (self._pooling or self._engine.default_pooling()) != "none"
            data.append(rows[0] if pooled else rows)
        self.reset()
        out = data[0] if isinstance(input, str) else data
        return (out, total) if return_count else out

    # --- lifetime ----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Frees the context (KV cache, buffers, threads); the Llama cannot evaluate afterwards."""
        if not self._closed and self._engine.has_context:
            self._engine.close()
        self._closed = True

    def __enter__(self) -> "Llama":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cache_is_ours(self) -> bool:
        """Whether the engine's KV cache still holds this Llama's n_tokens tokens: nothing else
        evaluated on it (the engine counts forward passes) and nothing cleared it."""
        if self.n_tokens == 0:
            return True
        return self._engine.n_past >= self.n_tokens and self._engine.stats()["n_evals"] == self._engine_evals

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Llama was closed")
        if self._vocab_only:
            raise RuntimeError(f"{self.model_path} was loaded with vocab_only=True: it can only tokenize")

    def _print_timings(self, stats0: dict, wall_s: float, n_generated: int) -> None:
        if not self.verbose:
            return
        s = self._engine.stats()
        n = s["n_tokens"] - stats0["n_tokens"]
        ms = s["eval_ms"] - stats0["eval_ms"]
        print(f"llamaprof: eval {ms:9.2f} ms / {n:5d} tokens evaluated; {n_generated} generated\n"
              f"llamaprof: total {wall_s * 1000:9.2f} ms", file=sys.stderr)

    def __repr__(self) -> str:
        return f"llamaprof.Llama(model_path={self.model_path!r}, n_ctx={getattr(self, '_n_ctx', None)})"


class _Sampler:
    """The engine's sampler chain behind the logits processors, with its own accepted tokens (the
    repetition penalties' history, as llama.cpp's sampler keeps it)."""

    def __init__(self, native, processors, grammar=None):
        self.native = native
        self.processors = processors
        self.grammar = grammar  # a _llamaprof.GrammarStage: the sample is one the grammar allows
        self.accepted: List[int] = []

    def sample(self, input_ids: np.ndarray, logits: np.ndarray) -> int:
        if self.processors:
            logits = self.processors(input_ids, np.array(logits, dtype=np.single))
        token = int(self.native.sample(np.asarray(logits, dtype=np.single), self.accepted, self.grammar))
        if self.grammar is not None:
            self.grammar.accept(token)
        self.accepted.append(token)
        return token


def _refuse_sampling(typical_p=1.0, tfs_z=1.0, mirostat_mode=0) -> None:
    for name, given in (("typical_p", typical_p != 1.0), ("tfs_z", tfs_z != 1.0), ("mirostat_mode", mirostat_mode != 0)):
        if given:
            raise NotImplementedError(f"{name} is not supported by llamaprof")


def _safe_end(text: bytes, start: int, stops: List[bytes]) -> int:
    """How much of text may be streamed: not a partial UTF-8 character at the end, nor a suffix
    that could begin a stop string."""
    end = len(text)
    for k in range(1, min(4, end - start) + 1):  # an unfinished UTF-8 sequence at the end
        b = text[end - k]
        if b & 0xC0 == 0x80:
            continue
        need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
        if need > k:
            end -= k
        break
    hold = 0
    for s in stops:
        for n in range(min(len(s) - 1, end - start), hold, -1):
            if text[end - n:end] == s[:n]:
                hold = n
                break
    return end - hold


def _chat_logprobs(lp: Optional[dict]) -> Optional[dict]:
    if lp is None:
        return None
    return {"content": [{"token": tok, "logprob": val, "bytes": list(tok.encode("utf-8")),
                         "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode("utf-8"))}
                                          for t, v in (top or {}).items()]}
                        for tok, val, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"])],
            "refusal": None}
