"""llama-cpp-python's hooks into sampling and its saved-state type, for llamaprof.Llama.

    LogitsProcessorList([f, g])    f(input_ids, scores) -> scores, applied in order to the logits of
                                   each step before the sampler chain (penalties, top-k, ...)
    StoppingCriteriaList([h])      h(input_ids, logits) -> bool; any True ends the generation
    MinTokensLogitsProcessor(n, eos)  forbids EOS for the first n generated tokens
    LlamaState                     what Llama.save_state() returns and load_state() takes

input_ids is a numpy int32 array of the tokens evaluated so far, scores/logits a float32 array of
n_vocab, as in llama-cpp-python.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

LogitsProcessor = Callable[[np.ndarray, np.ndarray], np.ndarray]
StoppingCriteria = Callable[[np.ndarray, np.ndarray], bool]


class LogitsProcessorList(List[LogitsProcessor]):
    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


class StoppingCriteriaList(List[StoppingCriteria]):
    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> bool:
        return any([criterion(input_ids, logits) for criterion in self])


class MinTokensLogitsProcessor:
    """Sets EOS's logit to -inf until min_tokens tokens were generated after the prompt."""

    def __init__(self, min_tokens: int, token_eos: int):
        self.min_tokens = min_tokens
        self.token_eos = token_eos
        self.prompt_tokens = None

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
        if len(input_ids) - self.prompt_tokens < self.min_tokens:
            scores[self.token_eos] = -np.inf
        return scores


def longest_token_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens a and b share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def logit_bias_processor(logit_bias: dict) -> LogitsProcessor:
    """llama-cpp-python's logit_bias: {token id (int or str): bias} added to those logits."""
    bias = {int(k): float(v) for k, v in logit_bias.items()}

    def apply(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        out = np.copy(scores)
        for token, b in bias.items():
            out[token] = scores[token] + b
        return out

    return apply


class LlamaState:
    """A Llama's evaluation state: the engine's KV rows and last logits (llama_state, opaque
    bytes), the evaluated tokens, their logits rows and the seed."""

    def __init__(self, input_ids: np.ndarray, scores: np.ndarray, n_tokens: int, llama_state: bytes,
                 llama_state_size: int, seed: int):
        self.input_ids = input_ids
        self.scores = scores
        self.n_tokens = n_tokens
        self.llama_state = llama_state
        self.llama_state_size = llama_state_size
        self.seed = seed
