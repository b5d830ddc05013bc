#!/usr/bin/env python3
"""Generation speed through the Python binding against the C++ CLI, same model, threads and seed.

    bench/python_vs_cli.py [--model F | --preset demo --type Q4_0] [--threads 2] [--tokens 128]
                           [--rounds 5] [--seed 42] [--temp 0.8] [--prompt TEXT]

Rounds alternate CLI and Python in one run so that both see the same machine state. Each round:
  cli     `llamaprof run --json` in a fresh process (warm page cache; its gen_tps)
  py      Model.generate() in this process: the engine's gen_tps, and "py wall", the generated
          tokens over the call's wall time minus the prompt evaluation (the binding's whole cost:
          worker thread, GIL hand-offs, result conversion)
  stream  Model.stream(): tokens over the wall time from the first token to the last, as Python
          code consuming them sees it
Both sides must produce the same tokens (checked), so they do the same work. The ratio reported
is median(Python) / median(CLI); the target is a gap of at most 2%.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_util import REPO, cli_path, ensure_model  # noqa: F401


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--type", default="Q4_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--prompt", default="The history of the city begins in the year")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    import llamaprof

    model_path = Path(args.model) if args.model else ensure_model(args.preset, args.type)
    cli_base = [str(cli_path()), "run", "-m", str(model_path), "-p", args.prompt, "--json", "-t", str(args.threads),
                "--ctx", str(args.ctx), "--seed", str(args.seed), "--temp", str(args.temp)]
    cli_args = cli_base + ["-n", str(args.tokens)]
    gen = dict(max_tokens=args.tokens, temperature=args.temp, seed=args.seed)
    model = llamaprof.Model(model_path, n_threads=args.threads, n_ctx=args.ctx)
    model.generate(args.prompt, max_tokens=4, temperature=args.temp, seed=args.seed)  # warm-up
    subprocess.run(cli_base + ["-n", "4"], check=True, capture_output=True)

    cli_tps, py_tps, py_wall_tps, stream_tps = [], [], [], []
    for rnd in range(args.rounds):
        # alternate which side goes first so neither always runs on a freshly idle machine
        order = ("cli", "py") if rnd % 2 == 0 else ("py", "cli")
        for side in order:
            if side == "cli":
                out = json.loads(subprocess.run(cli_args, check=True, capture_output=True).stdout)
                cli_tps.append(out["timings"]["gen_tps"])
                cli_tokens = out["tokens"]
            else:
                t0 = time.perf_counter()
                r = model.generate(args.prompt, **gen)
                wall = time.perf_counter() - t0
                py_tps.append(r.timings["gen_tps"])
                py_wall_tps.append(len(r.tokens) / (wall - r.timings["prompt_ms"] / 1000.0))
                py_tokens = r.tokens
                stamps = []
                for _ in model.stream(args.prompt, **gen):
                    stamps.append(time.perf_counter())
                if len(stamps) > 1:
                    stream_tps.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
        if cli_tokens != py_tokens:
            print("python_vs_cli: the CLI and Python generated different tokens; the comparison is void",
                  file=sys.stderr)
            return 1

    med = statistics.median
    res = {
        "model": str(model_path), "type": model.type_name, "threads": args.threads, "tokens": args.tokens,
        "rounds": args.rounds, "seed": args.seed, "temp": args.temp,
        "cli_gen_tps": med(cli_tps), "py_gen_tps": med(py_tps), "py_wall_tps": med(py_wall_tps),
        "stream_tps": med(stream_tps) if stream_tps else None,
        "ratio_py_engine": med(py_tps) / med(cli_tps), "ratio_py_wall": med(py_wall_tps) / med(cli_tps),
        "ratio_stream": (med(stream_tps) / med(cli_tps)) if stream_tps else None,
        "cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"),
        "all": {"cli": cli_tps, "py": py_tps, "py_wall": py_wall_tps, "stream": stream_tps},
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(f"model {model_path.name} ({res['type']}), {args.threads} threads, {args.tokens} tokens, "
              f"{args.rounds} rounds alternating, seed {args.seed}, temp {args.temp}")
        print(f"  CLI            gen {res['cli_gen_tps']:8.2f} t/s")
        print(f"  Python         gen {res['py_gen_tps']:8.2f} t/s   ratio {res['ratio_py_engine']:.4f}")
        print(f"  Python (wall)  gen {res['py_wall_tps']:8.2f} t/s   ratio {res['ratio_py_wall']:.4f}")
        if stream_tps:
            print(f"  Python stream  gen {res['stream_tps']:8.2f} t/s   ratio {res['ratio_stream']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
