#!/usr/bin/env python3
"""Speculative decoding by prompt lookup against plain decoding, on a prompt-lookup-friendly task:
a text of a few hundred words followed by an instruction to repeat it with one edit. Each round
runs the modes in turn (alternating, so that every mode sees the same machine), all greedy and
with the same fixed length (--ignore-eos), and prints tokens/s, drafts accepted, forward passes and
tokens per pass; then medians per mode and the ratios to plain.

Modes:
  plain   `llamaprof run` as is
  lookup  `--draft-max K --lookup-ngram-min/max`: prompt lookup over prompt + output
  oracle  `--draft-oracle`: drafts the tokens plain greedy decoding produced (the first plain run's),
          so every draft is accepted: the mechanism's ceiling on any model, e.g. random-weight ones,
          which do not copy their prompt (their lookup acceptance is low)
  draft   `--draft-model FILE`: a smaller model with the same vocabulary drafts greedily (only
          with --draft-model; add it to --modes)

Not a test and no figures are kept: run it on an idle machine (it prints the load average before
and after) and put results in docs/benchmarks.md with the command, the machine and the date.

    bench/speculative.py MODEL [-t 2] [-n 256] [--draft-max 8] [--ngram 1:3] [--rounds 3]
                         [--modes plain,lookup,oracle[,draft]] [--draft-model F] [--prompt-file F] [--chat]
    bench/speculative.py --preset tiny --type Q4_0 ...   (a random-weight model, made once)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_util import cli_path, ensure_model  # noqa: E402

TEXT = """\
The lighthouse keeper's log for the winter of that year is short, and most of it is weather. On the
first of December the wind came round to the north-east and stayed there for eleven days. The supply
boat did not come. The keeper counted his paraffin every evening and wrote the number down, and the
numbers got smaller in a straight line, as numbers do when nobody is adding to them. On the twelfth
the wind dropped, the sea went flat and grey, and the boat came in the afternoon with paraffin, flour,
two sacks of potatoes, a crate of tinned milk and a letter from his sister, which he did not open
until the lamp was lit. She wrote that the town had a new bridge, that the baker had died and his son
had taken over the shop and that the bread was worse, and that she hoped he was keeping warm. He
wrote back that he was. In January the log records a ship passing close in fog, her bell ringing, so
close that he could hear men talking on deck, though not what they said. He fired the fog gun every
two minutes for six hours. In February there is nothing but the weather again, and the paraffin, and
on the last page of the month, under the figures, a single line: the gulls came back today."""

INSTRUCTION = ("\n\nRepeat the text above exactly, word for word, but write \"lantern\" instead of \"lamp\".\n\n")


def run_once(model, prompt_file, args, mode, oracle_file):
    cmd = [str(cli_path()), "run", "-m", str(model), "-f", str(prompt_file), "-n", str(args.n_predict),
           "-t", str(args.threads), "--temp", "0", "--ignore-eos", "--json", "--ctx", str(args.ctx)]
    if args.chat:
        cmd.append("--chat")
    if mode == "lookup":
        nmin, nmax = args.ngram.split(":")
        cmd += ["--draft-max", str(args.draft_max), "--lookup-ngram-min", nmin, "--lookup-ngram-max", nmax]
    if mode == "oracle":
        cmd += ["--draft-max", str(args.draft_max), "--draft-oracle", str(oracle_file)]
    if mode == "draft":
        cmd += ["--draft-max", str(args.draft_max), "--draft-model", str(args.draft_model)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", help="GGUF file (or --preset/--type)")
    p.add_argument("--preset", help="make-model preset of a random-weight model, e.g. tiny or llama2-7b")
    p.add_argument("--type", default="Q4_0", help="its quantization (with --preset)")
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("-n", "--n-predict", type=int, default=256)
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--draft-max", type=int, default=8)
    p.add_argument("--ngram", default="1:3", help="MIN:MAX n-gram sizes of the lookup")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--modes", default="plain,lookup,oracle")
    p.add_argument("--prompt-file", help="the task prompt (default: the built-in text + instruction)")
    p.add_argument("--draft-model", help="GGUF file of a draft model (mode draft)")
    p.add_argument("--chat", action="store_true", help="send the prompt as a user message (instruction-tuned models)")
    args = p.parse_args()
    if bool(args.model) == bool(args.preset):
        p.error("give a MODEL or --preset (not both)")
    modes = args.modes.split(",")
    for m in modes:
        if m not in ("plain", "lookup", "oracle", "draft"):
            p.error(f"--modes: unknown mode {m}")
    if ("draft" in modes) != bool(args.draft_model):
        p.error("mode draft and --draft-model go together")
    model = Path(args.model) if args.model else ensure_model(args.preset, args.type)

    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        prompt_file = Path(args.prompt_file) if args.prompt_file else Path(tmp) / "prompt.txt"
        if not args.prompt_file:
            prompt_file.write_text(TEXT + INSTRUCTION)
        oracle_file = Path(tmp) / "oracle.json"
        if "oracle" in modes:
            # The reference continuation: what plain greedy decoding produces (also a warm-up run).
            ref = run_once(model, prompt_file, args, "plain", None)
            oracle_file.write_text(json.dumps(ref["tokens"]))
        print("| round | mode | gen t/s | drafts accepted | passes | tokens/pass |")
        print("|---|---|---|---|---|---|")
        tps = {m: [] for m in modes}
        for rnd in range(1, args.rounds + 1):
            for mode in modes:
                t = run_once(model, prompt_file, args, mode, oracle_file)["timings"]
                tps[mode].append(t["gen_tps"])
                per_pass = (t["gen_tokens"] - 1) / t["gen_passes"] if t["gen_passes"] else 0.0
                acc = f"{t['draft_accepted']}/{t['draft_tokens']}" if mode != "plain" else "-"
                print(f"| {rnd} | {mode} | {t['gen_tps']:.2f} | {acc} | {t['gen_passes']} | {per_pass:.2f} |",
                      flush=True)
    print()
    base = statistics.median(tps["plain"]) if "plain" in tps else None
    for mode in modes:
        med = statistics.median(tps[mode])
        ratio = f", {med / base:.2f}x plain" if base else ""
        print(f"{mode}: median {med:.2f} tokens/s{ratio}")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    main()
