#!/usr/bin/env python3
"""The cost of Llama's Python token loop (llama-cpp-python's structure: eval, copy of the logits
row, processors, the engine's sampler, stop checks) against Model.generate (the all-C++ loop), on
one model in one process, same prompt, tokens and threads.

    bench/llama_loop_overhead.py MODEL [--threads 2] [--tokens 128] [--rounds 5] [--logits-all]

Rounds alternate the two. Greedy with EOS banned on both sides, so both generate the same number
of tokens. Reports median tokens/s of the generation phase of each and their ratio (wall time of
the call minus the prompt's evaluation, which is the same C++ call on both sides). Run it on an
idle machine; a busy one shifts both.
"""

import argparse
import statistics
import time

from llamaprof import Llama, Model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--logits-all", action="store_true")
    ap.add_argument("--prompt", default="Once upon a time, in a land far away,")
    a = ap.parse_args()

    model = Model(a.model, n_threads=a.threads, n_ctx=1024)
    llm = Llama(model_path=a.model, n_threads=a.threads, n_ctx=1024, logits_all=a.logits_all, verbose=False)
    cpp, py = [], []
    for _ in range(a.rounds):
        r = model.generate(a.prompt, max_tokens=a.tokens, temperature=0, ignore_eos=True)
        cpp.append(r.timings["gen_tokens"] / (r.timings["gen_ms"] / 1000))
        llm.reset()
        # tokens after the first over the time from the first chunk to the end (no prompt in it)
        t_first, n = None, 0
        for ch in llm(a.prompt, max_tokens=a.tokens, temperature=0, stream=True,
                      logit_bias={llm.token_eos(): float("-inf")}):
            if t_first is None:
                t_first = time.perf_counter()
            n += 1
        t_end = time.perf_counter()
        py.append((a.tokens - 1) / (t_end - t_first))
    mc, mp = statistics.median(cpp), statistics.median(py)
    print(f"Model.generate (C++ loop): {mc:8.2f} t/s   Llama (Python loop): {mp:8.2f} t/s   ratio {mp / mc:.3f}")


if __name__ == "__main__":
    main()
