"""One profiled run through llama-cpp-python, for `llamaprof profile --engines llama-cpp-python`.

    python3 llama_cpp_worker.py --model M --prompt-file F --threads N --max-tokens N --ctx N
                                --seed S [--top K] [--trace FILE]

Run as a script by path, with the interpreter the user's llama-cpp-python is installed in
(`--python`): it imports only `llama_cpp` and the standard library, never llamaprof. It builds
`llama_cpp.Llama(model_path, n_ctx, n_threads, n_threads_batch, seed, logits_all=True,
verbose=False)`, calls `create_completion(prompt, max_tokens, logprobs=K, ...)` once (not
streaming: `usage.completion_tokens` is the exact token count and `logprobs.top_logprobs` holds the
top-K candidates of every token, as llama-cpp-python 0.3 documents) and prints one JSON record on
stdout with the fields of llamaprof's own workers (src/profile/worker.h) where llama-cpp-python
exposes them; what it cannot give is named in the record's "missing" list.

End-of-sequence is banned through `logit_bias` (llama-cpp-python has no ignore_eos): if the
library ignores the bias and stops early, "ignore_eos" is false and finish_reason says "stop".

llama-cpp-python cannot be installed where llamaprof is tested (no PyPI); the tests run this
worker against `llamaprof.Llama`, llamaprof's llama-cpp-python-compatible class, under the module
name `llama_cpp` (tests/python/test_profile_engines.py).
"""

import argparse
import json
import math
import resource
import sys
import time

_PROCESS_START = (time.monotonic(), resource.getrusage(resource.RUSAGE_SELF))
EXIT_NOT_INSTALLED = 3


# _sample and _phase mirror profile_worker.py's on purpose: this script must not import llamaprof.
def _sample():
    return time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)


def _phase(a, b):
    wall = b[0] - a[0]
    user = b[1].ru_utime - a[1].ru_utime
    sys_ = b[1].ru_stime - a[1].ru_stime
    return {"wall_s": wall, "user_s": user, "sys_s": sys_, "util": (user + sys_) / wall if wall > 0 else 0.0}


def _parse(argv):
    p = argparse.ArgumentParser(prog="llama_cpp_worker.py", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--prompt-file", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--ctx", type=int, required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--trace")
    return p.parse_args(argv)


def run(args):
    import_start = _sample()
    import llama_cpp  # noqa: the user's installation; ImportError is reported by main()

    with open(args.prompt_file, "rb") as f:
        prompt = f.read().decode("utf-8", "replace")
    rec = {"model": args.model, "max_tokens": args.max_tokens, "seed": args.seed, "n_threads": args.threads,
           "n_ctx": args.ctx, "library": "llama_cpp", "library_version": getattr(llama_cpp, "__version__", "unknown"),
           "library_file": getattr(llama_cpp, "__file__", "")}
    before_load = _sample()
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=args.ctx, n_threads=args.threads,
                          n_threads_batch=args.threads, seed=args.seed, logits_all=True, verbose=False)
    after_load = _sample()
    rec["time_import"] = before_load[0] - import_start[0]
    rec["time_load"] = after_load[0] - before_load[0]
    rec["cpu"] = {"start": _phase(_PROCESS_START, before_load), "load": _phase(before_load, after_load)}

    eos = llm.token_eos()
    # llamaprof's workers' sampler (SamplerParams defaults), spelled out.
    out = llm.create_completion(prompt, max_tokens=args.max_tokens, temperature=0.8, top_k=40, top_p=0.95,
                                min_p=0.05, repeat_penalty=1.1, seed=args.seed, logprobs=args.top or None,
                                logit_bias={eos: -math.inf} if eos is not None and eos >= 0 else None)
    end = _sample()
    choice = out["choices"][0]
    usage = out.get("usage") or {}
    missing = ["per-token latencies (a non-streaming completion returns all tokens at once)",
               "time to first token / prompt time (llama-cpp-python reports no phases with verbose=False)",
               "token ids of the candidates (llama-cpp-python's top_logprobs maps text to logprob)"]
    if "completion_tokens" not in usage:
        missing.append("usage.completion_tokens (comp_tokens counted from logprobs instead)")
    lp = choice.get("logprobs")
    tops = (lp or {}).get("top_logprobs") or []
    toks = (lp or {}).get("tokens") or []
    comp = usage.get("completion_tokens", len(toks))
    rec["time_infer"] = end[0] - after_load[0]
    rec["prompt_tokens"] = usage.get("prompt_tokens", 0)
    rec["comp_tokens"] = comp
    rec["gen_ms"] = 1000.0 * rec["time_infer"]
    rec["gen_tps"] = comp / rec["time_infer"] if rec["time_infer"] > 0 else 0.0
    rec["finish_reason"] = choice.get("finish_reason")
    rec["ignore_eos"] = comp >= args.max_tokens
    rec["output"] = choice.get("text", "")
    rec["cpu"]["infer"] = _phase(after_load, end)
    rec["cpu"]["gen"] = rec["cpu"]["infer"]
    if args.top and not tops:
        missing.append("top-%d candidates per token: the library returned no logprobs.top_logprobs" % args.top)
    rec["top_candidates_returned"] = len(tops)
    if args.trace:
        with open(args.trace, "w", encoding="utf-8") as f:
            for i, top in enumerate(tops):
                token_lp = (lp.get("token_logprobs") or [None] * len(tops))[i]
                cands = sorted(((t, v) for t, v in (top or {}).items()), key=lambda x: -x[1])
                line = {"index": i, "text": toks[i] if i < len(toks) else "", "logprob": token_lp,
                        "candidates": [{"text": t, "logprob": v, "p": math.exp(v) if v > -1e30 else 0.0}
                                       for t, v in cands]}
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    rec["missing"] = missing
    return rec


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        rec = run(args)
    except ImportError as e:
        print(f"llama_cpp_worker: error: cannot import llama_cpp with {sys.executable}: {e}", file=sys.stderr)
        return EXIT_NOT_INSTALLED
    except Exception as e:  # the library's own errors (a bad model, a prompt too long): reported, not hidden
        print(f"llama_cpp_worker: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
