"""profile(): one generation with its timings, op times, thread shares and CPU use, as a dict.

This is the thin Python side of the profiler. It records what the public API exposes today:
the per-phase timings of lp::generate, the forward-pass op times (Context op profiling), each
worker thread's busy / spin / sleep time (ThreadPool::times()), and the process's CPU time
against wall time (the seed's "CPU above 50% for little gain" question). Page-cache residency,
cold-versus-warm loads, the memory-bandwidth share and comparisons with llama.cpp,
llama-cpp-python or a server need fresh processes: `llamaprof profile` (src/profile) measures
them; this in-process profile lists them under "missing".
"""

from __future__ import annotations

import resource
import time
from typing import Union

MISSING = [
    "page-cache residency of the model file and cold-vs-warm load (`llamaprof profile`)",
    "share of the machine's memory-bandwidth limit reached (`llamaprof profile`)",
    "per-phase rusage (page faults, context switches) split by load / prompt / generation",
]


def _shares(busy: float, spin: float, sleep: float) -> dict:
    total = busy + spin + sleep
    share = (lambda x: x / total) if total > 0 else (lambda x: 0.0)
    return {"busy_s": busy, "spin_s": spin, "sleep_s": sleep, "busy_share": share(busy),
            "spin_share": share(spin), "sleep_share": share(sleep)}


def profile_generation(model, prompt: Union[str, bytes], max_tokens: int = 128, op_profiling: bool = True,
                       **generate_kwargs) -> dict:
    engine = model._engine
    engine.reset_stats()  # eval stats, op times and thread accounting start from zero
    engine.set_op_profiling(bool(op_profiling))
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    try:
        result = model.generate(prompt, max_tokens=max_tokens, **generate_kwargs)
    finally:
        wall_s = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        engine.set_op_profiling(False)
    threads = [_shares(*t) for t in engine.thread_times()]
    total = _shares(*(sum(t[k] for t in threads) for k in ("busy_s", "spin_s", "sleep_s")))
    ops = []
    if op_profiling:
        op_total = sum(ms for _, ms, _ in engine.op_times()) or 1.0
        ops = [{"name": name, "ms": ms, "calls": calls, "share": ms / op_total}
               for name, ms, calls in engine.op_times() if calls]
        ops.sort(key=lambda o: -o["ms"])
    user_s = ru1.ru_utime - ru0.ru_utime
    sys_s = ru1.ru_stime - ru0.ru_stime
    record = {
        "model": {"path": model.path, "type": model.type_name, "file_size": model.file_size,
                  "n_params": model.n_params, "load_ms": model.load_ms, "hparams": model.hparams},
        "context": {"n_ctx": model.n_ctx, "n_batch": model.n_batch, "n_threads": model.n_threads},
        "finish_reason": result.finish_reason,
        "text": result.text,
        "prompt_tokens": len(result.prompt_tokens),
        "gen_tokens": len(result.tokens),
        "timings": result.timings,
        "token_latency_ms": [s.latency_ms for s in result.steps],
        "eval": engine.stats(),
        "ops": ops,
        "threads": threads,
        "threads_total": total,
        "cpu": {"wall_s": wall_s, "user_s": user_s, "sys_s": sys_s,
                "utilization": (user_s + sys_s) / wall_s if wall_s > 0 else 0.0,
                "max_rss_mb": ru1.ru_maxrss / 1024.0,
                "minor_faults": ru1.ru_minflt - ru0.ru_minflt, "major_faults": ru1.ru_majflt - ru0.ru_majflt},
        "missing": list(MISSING),
    }
    if generate_kwargs.get("top_candidates"):
        record["candidates"] = [[{"id": c.id, "text": c.text, "p": c.p, "logprob": c.logprob} for c in s.candidates]
                                for s in result.steps]
    return record


def profile(model_or_path, prompt: Union[str, bytes], max_tokens: int = 128, **kwargs) -> dict:
    """Profiles one generation. model_or_path: a Model, or a path (loaded with Model's keyword
    arguments n_threads, n_ctx, n_batch, use_mmap, use_mlock taken from kwargs)."""
    from .model import Model

    if isinstance(model_or_path, Model):
        return model_or_path.profile(prompt, max_tokens=max_tokens, **kwargs)
    load_keys = ("n_threads", "n_ctx", "n_batch", "use_mmap", "use_mlock", "prefetch")
    load = {k: kwargs.pop(k) for k in load_keys if k in kwargs}
    return Model(model_or_path, **load).profile(prompt, max_tokens=max_tokens, **kwargs)
