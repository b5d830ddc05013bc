"""llamaprof: GGUF llama-family models on the CPU, measured.

    from llamaprof import Model
    m = Model("model.gguf", n_threads=2)
    r = m.generate("Once upon a time", max_tokens=32, temperature=0, top_candidates=5)
    print(r.text, r.finish_reason, r.timings["gen_tps"])
    for tok in m.stream("Once upon a time", max_tokens=32):
        print(tok.text, end="", flush=True)

    from llamaprof import Llama      # llama-cpp-python compatible (needs numpy, as llama-cpp-python)
"""

import importlib

from ._llamaprof import Engine as _Engine  # noqa: F401  (fails early if the extension is missing)
from .model import Candidate, Completion, Model, Stream, Token
from .profile import profile

__version__ = "0.1.0"

# llama-cpp-python's names, imported on first use: they need numpy, which `import llamaprof` (the
# Model API, the profiler's workers) does not.
_LAZY = {name: ".llama" for name in ("Llama", "LLAMA_DEFAULT_SEED", "LLAMA_POOLING_TYPE_UNSPECIFIED",
                                     "LLAMA_POOLING_TYPE_NONE", "LLAMA_POOLING_TYPE_MEAN", "LLAMA_POOLING_TYPE_CLS",
                                     "LLAMA_POOLING_TYPE_LAST")}
_LAZY.update({name: ".llama_cache" for name in ("BaseLlamaCache", "LlamaCache", "LlamaRAMCache", "LlamaDiskCache")})
_LAZY.update({name: ".llama_sampling" for name in ("LlamaState", "LogitsProcessorList", "MinTokensLogitsProcessor",
                                                   "StoppingCriteriaList")})
_LAZY["LlamaTokenizer"] = ".llama_tokenizer"
_LAZY["LlamaGrammar"] = ".llama_grammar"
_LAZY.update({name: ".llama_speculative" for name in ("LlamaDraftModel", "LlamaPromptLookupDecoding")})


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llamaprof' has no attribute {name!r}")


__all__ = ["Model", "Completion", "Token", "Candidate", "Stream", "profile", *_LAZY]
