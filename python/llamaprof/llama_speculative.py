"""llama-cpp-python's llama_cpp.llama_speculative: draft models for speculative decoding.

    from llamaprof import Llama, LlamaPromptLookupDecoding
    llm = Llama("model.gguf", draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10))

A draft model is called with the token ids so far (a numpy array) and returns the ids it proposes
next. Llama.generate evaluates them with the last token in one forward pass and keeps them while
each is the token the sampler picks (docs/architecture.md, "Speculative decoding"). The same object
can be passed to Model.generate(speculative=...), where the whole loop runs in C++.
"""

import abc

from . import _llamaprof


class LlamaDraftModel(abc.ABC):
    @abc.abstractmethod
    def __call__(self, input_ids, /, **kwargs):
        """The proposed next token ids (a 1-D integer numpy array) after input_ids."""


class LlamaPromptLookupDecoding(LlamaDraftModel):
    """Prompt lookup: the tokens that followed the latest earlier occurrence of the text's last
    n-gram, for n from max_ngram_size down to 1 (llama-cpp-python takes the first occurrence; the
    latest one follows what the model is generating now, e.g. inside a repeated passage)."""

    def __init__(self, max_ngram_size: int = 2, num_pred_tokens: int = 10):
        if int(max_ngram_size) < 1:
            raise ValueError(f"max_ngram_size={max_ngram_size} must be >= 1")
        if int(num_pred_tokens) < 1:
            raise ValueError(f"num_pred_tokens={num_pred_tokens} must be >= 1")
        self.max_ngram_size = int(max_ngram_size)
        self.num_pred_tokens = int(num_pred_tokens)

    def __call__(self, input_ids, /, **kwargs):
        import numpy as np

        ids = [int(t) for t in input_ids]
        draft = _llamaprof.prompt_lookup_draft(ids, 1, self.max_ngram_size, self.num_pred_tokens)
        return np.asarray(draft, dtype=np.intc)

    def native_params(self) -> dict:
        """Model.generate's engine arguments: the same lookup run inside the C++ loop."""
        return {"draft_max": self.num_pred_tokens, "ngram_min": 1, "ngram_max": self.max_ngram_size}

    def __repr__(self) -> str:
        return f"LlamaPromptLookupDecoding(max_ngram_size={self.max_ngram_size}, num_pred_tokens={self.num_pred_tokens})"
