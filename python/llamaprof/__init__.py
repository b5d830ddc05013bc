"""llamaprof: GGUF llama-family models on the CPU, measured.

    from llamaprof import Model
    m = Model("model.gguf", n_threads=2)
    r = m.generate("Once upon a time", max_tokens=32, temperature=0, top_candidates=5)
    print(r.text, r.finish_reason, r.timings["gen_tps"])
    for tok in m.stream("Once upon a time", max_tokens=32):
        print(tok.text, end="", flush=True)

    from llamaprof import Llama      # llama-cpp-python compatible
"""

from ._llamaprof import Engine as _Engine  # noqa: F401  (fails early if the extension is missing)
from .llama_grammar import LlamaGrammar
from .llama import LLAMA_DEFAULT_SEED, Llama
from .model import Candidate, Completion, Model, Stream, Token
from .profile import profile

__version__ = "0.1.0"
__all__ = ["Model", "Completion", "Token", "Candidate", "Stream", "Llama", "LLAMA_DEFAULT_SEED", "LlamaGrammar", "profile"]
