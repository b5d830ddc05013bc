"""One profiled run through the Python binding, for `llamaprof profile --front-ends python`.

    python3 -m llamaprof.profile_worker --model M --threads N --max-tokens N --prompt-file F
                                        [--trace FILE] [--top N] [--seed S] [--ctx N] [--draft-max K]
                                        [--load-only]

Prints one JSON record on stdout with the same fields as the C++ `llamaprof profile-worker`
(src/profile/worker.h), measured the same way, so that the two front ends can be compared field by
field: getrusage at the phase boundaries (process start, before and after the load, the first
token, the end), the thread pool's busy/spin/sleep time, and the decode forward passes counted
from the context's eval statistics. It drives the public Python API (llamaprof.Model, streaming), so
the gap it measures is what a Python user pays; only the counters come from the Model's engine.
"""

import argparse
import json
import math
import resource
import sys
import time

_PROCESS_START = (time.monotonic(), resource.getrusage(resource.RUSAGE_SELF))


def _sample():
    return time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)


def _phase(a, b):
    wall = b[0] - a[0]
    user = b[1].ru_utime - a[1].ru_utime
    sys_ = b[1].ru_stime - a[1].ru_stime
    return {"wall_s": wall, "user_s": user, "sys_s": sys_, "util": (user + sys_) / wall if wall > 0 else 0.0}


def _pool(times):
    busy = sum(t[0] for t in times)
    spin = sum(t[1] for t in times)
    sleep = sum(t[2] for t in times)
    return busy, spin, sleep


def _threads(before, after):
    busy, spin, sleep = (after[i] - before[i] for i in range(3))
    total = busy + spin + sleep
    share = (lambda v: v / total) if total > 0 else (lambda v: 0.0)
    return {"busy_s": busy, "spin_s": spin, "sleep_s": sleep,
            "busy": share(busy), "spin": share(spin), "sleep": share(sleep)}


def _peak_rss_mb():
    """VmHWM: this process's own peak resident set (ru_maxrss can carry the parent's across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m llamaprof.profile_worker", description=__doc__.split("\n")[0])
    p.add_argument("-m", "--model", required=True)
    g = p.add_mutually_exclusive_group()
    g.add_argument("-p", "--prompt")
    g.add_argument("--prompt-file")
    p.add_argument("-t", "--threads", type=int, default=0)
    p.add_argument("-n", "--max-tokens", type=int, default=64)
    p.add_argument("--ctx", type=int, default=0)
    p.add_argument("--trace")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--draft-max", type=int, default=0)
    p.add_argument("--load-only", action="store_true")
    return p.parse_args(argv)


def run(args):
    import_start = _sample()
    import llamaprof  # the package and its binding; the import is part of this front end's start-up

    prompt = args.prompt
    if args.prompt_file:
        with open(args.prompt_file, "rb") as f:
            prompt = f.read().decode("utf-8", "replace")
    if not prompt:
        prompt = " "

    rec = {"front_end": "python", "model": args.model, "max_tokens": args.max_tokens, "seed": args.seed}
    before_load = _sample()
    model = llamaprof.Model(args.model, n_threads=args.threads or None, n_ctx=args.ctx, n_batch=512)
    after_load = _sample()
    engine = model._engine  # counters the public API does not expose: thread times, eval stats
    rec["n_threads"] = model.n_threads
    rec["n_ctx"] = model.n_ctx
    rec["n_batch"] = model.n_batch
    rec["time_import"] = before_load[0] - import_start[0]
    rec["time_load"] = after_load[0] - before_load[0]
    rec["load_ms"] = model.load_ms
    rec["model_type"] = model.type_name
    rec["cpu"] = {"start": _phase(_PROCESS_START, before_load), "load": _phase(before_load, after_load)}
    if args.load_only:
        rec["peak_rss_mb"] = _peak_rss_mb()
        return rec

    trace = open(args.trace, "w", encoding="utf-8") if args.trace else None
    engine.reset_stats()
    pool_before = _pool(engine.thread_times())
    # The C++ worker's sampler: SamplerParams defaults with the given seed. End of generation is
    # ignored, as in every engine of the matrix, so all of them generate max_tokens.
    gen_start = _sample()
    stream = model.stream(prompt, max_tokens=args.max_tokens, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05,
                          repeat_penalty=1.1, seed=args.seed, top_candidates=args.top, ignore_eos=True,
                          speculative={"draft_max": args.draft_max} if args.draft_max > 0 else None)
    first_token = None
    for tok in stream:
        if first_token is None:
            first_token = _sample()
        if trace:
            line = {"index": tok.index, "id": tok.id,
                    "text": model.token_to_piece(tok.id).decode("utf-8", "replace"),
                    "latency_ms": tok.latency_ms,
                    "candidates": [{"id": c.id, "text": c.text, "p": c.p, "logprob": c.logprob} for c in tok.candidates]}
            trace.write(json.dumps(line, ensure_ascii=False) + "\n")
    result = stream.result
    gen_end = _sample()
    if trace:
        trace.close()
    pool_after = _pool(engine.thread_times())
    stats = engine.stats()
    prompt_end = first_token or gen_end

    t = result.timings
    rec["time_prompt"] = prompt_end[0] - gen_start[0]
    rec["time_gen"] = gen_end[0] - prompt_end[0]
    rec["time_infer"] = gen_end[0] - gen_start[0]
    rec["prompt_tokens"] = t["prompt_tokens"]
    rec["comp_tokens"] = t["gen_tokens"]
    rec["prompt_ms"] = t["prompt_ms"]
    rec["gen_ms"] = t["gen_ms"]
    rec["prompt_tps"] = t["prompt_tps"]
    rec["gen_tps"] = t["gen_tps"]
    rec["sample_ms"] = t["sample_ms"]
    rec["finish_reason"] = result.finish_reason
    rec["output"] = result.text
    rec["cpu"]["prompt"] = _phase(gen_start, prompt_end)
    rec["cpu"]["gen"] = _phase(prompt_end, gen_end)
    rec["threads"] = _threads(pool_before, pool_after)
    prompt_evals = math.ceil(t["prompt_tokens"] / model.n_batch)
    rec["decode_evals"] = stats["n_evals"] - prompt_evals
    rec["decode_ms"] = stats["eval_ms"] - t["prompt_ms"]
    rec["draft_max"] = args.draft_max
    for key in ("gen_passes", "draft_tokens", "draft_accepted"):
        rec[key] = t[key]
    rec["peak_rss_mb"] = _peak_rss_mb()
    huge = model.weights_huge_pages_pct  # after the run: every weight has been read and mapped
    if huge is not None:
        rec["weights_huge_pages_pct"] = huge
    return rec


def main(argv=None):
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        rec = run(args)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"llamaprof profile_worker: error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
