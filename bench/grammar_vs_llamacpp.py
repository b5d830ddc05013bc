#!/usr/bin/env python3
"""Cost of grammar-constrained decoding: tokens/s with json.gbnf against unconstrained, on the same
model, threads and seed, for llamaprof and (when built) llama.cpp's llama-completion --grammar-file.

    bench/grammar_vs_llamacpp.py [--model F | --preset llama2-7b --type Q4_0] [--threads 2]
                                 [--tokens 128] [--rounds 3] [--grammar FILE] [--seed 42]
                                 [--llama-completion PATH]

Rounds alternate the four runs (llamaprof plain / grammar, llama.cpp plain / grammar) so that all
see the same machine state. Rates count sampling: llamaprof's gen_tps (forward passes + sampling of
the generated tokens); llama.cpp's generated tokens over its eval time plus its sampling time (its
"eval" tokens/s leaves the grammar out). Temperature 1, top-k 40 on both; a random-weight model
rarely finishes a JSON object, so runs are about --tokens long, but the rates are per token either
way. Target (issue 14): llamaprof with the grammar at >= 95% of its unconstrained rate on a 7B
shape, and at least as fast as llama.cpp with the same grammar.

Figures are only meaningful on an idle machine: say so when reporting them (docs/benchmarks.md).
"""

import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

from bench_util import REPO, cli_path, ensure_model  # noqa: F401


def find_llama_completion() -> Path | None:
    found = sorted(glob.glob(str(Path.home() / ".cache/llamaprof/llama.cpp/*/build/bin/llama-completion")))
    return Path(found[-1]) if found else None


def run_llamaprof(model: Path, args, grammar: Path | None) -> float:
    cmd = [str(cli_path()), "run", "-m", str(model), "-p", args.prompt, "-n", str(args.tokens), "-t", str(args.threads),
           "--temp", "1", "--top-k", "40", "--seed", str(args.seed), "--json"]
    if grammar:
        cmd += ["--grammar-file", str(grammar)]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    return out["timings"]["gen_tps"]


def run_llama_cpp(exe: Path, model: Path, args, grammar: Path | None) -> float:
    cmd = [str(exe), "-m", str(model), "-p", args.prompt, "-n", str(args.tokens), "-t", str(args.threads),
           "--temp", "1", "--top-k", "40", "--seed", str(args.seed), "-no-cnv"]
    if grammar:
        cmd += ["--grammar-file", str(grammar)]
    err = subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL).stderr
    sampling = float(re.search(r"sampling time =\s*([\d.]+) ms", err).group(1))
    m = re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", err)
    eval_ms, runs = float(m.group(1)), int(m.group(2))
    # `runs` forward passes produced runs + 1 tokens (the first comes from the prompt's logits).
    return (runs + 1) * 1000.0 / (eval_ms + sampling)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--preset", default="llama2-7b")
    ap.add_argument("--type", default="Q4_0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--prompt", default="Write a JSON object describing a cat:")
    ap.add_argument("--grammar", type=Path, default=REPO / "tools/oracle/generated/llama.cpp/grammars/json.gbnf")
    ap.add_argument("--llama-completion", type=Path, default=find_llama_completion())
    args = ap.parse_args()
    model = args.model or ensure_model(args.preset, args.type)
    have_llama = args.llama_completion is not None and args.llama_completion.exists()

    runs = {"llamaprof": [], "llamaprof+grammar": [], "llama.cpp": [], "llama.cpp+grammar": []}
    for _ in range(args.rounds):
        runs["llamaprof"].append(run_llamaprof(model, args, None))
        runs["llamaprof+grammar"].append(run_llamaprof(model, args, args.grammar))
        if have_llama:
            runs["llama.cpp"].append(run_llama_cpp(args.llama_completion, model, args, None))
            runs["llama.cpp+grammar"].append(run_llama_cpp(args.llama_completion, model, args, args.grammar))

    print(f"model {model} | {args.threads} threads | {args.tokens} tokens | grammar {args.grammar.name} | "
          f"{args.rounds} rounds | {platform.node()} load {os.getloadavg()[0]:.2f}")
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    for k, v in runs.items():
        if v:
            print(f"  {k:20s} median {med[k]:8.2f} t/s   ({', '.join(f'{x:.2f}' for x in v)})")
    print(f"  llamaprof grammar / plain: {med['llamaprof+grammar'] / med['llamaprof']:.3f} (target >= 0.95)")
    if have_llama:
        print(f"  llama.cpp grammar / plain: {med['llama.cpp+grammar'] / med['llama.cpp']:.3f}")
        print(f"  llamaprof+grammar / llama.cpp+grammar: {med['llamaprof+grammar'] / med['llama.cpp+grammar']:.3f} "
              "(target >= 1)")
    else:
        print("  llama.cpp: llama-completion not found (scripts/setup builds it; or --llama-completion PATH)")


if __name__ == "__main__":
    main()
