#!/usr/bin/env bash
# pp and tg against llama.cpp's own benchmark tool, in one run: `llamaprof bench` and `llama-bench`
# (scripts/setup's native build from the node-llama-cpp bundle) on the same files, the same thread
# count, prompt and generation lengths, alternating engine by engine for --rounds rounds so that both
# see the same machine. Prints one markdown row per model, engine and round, then the medians and the
# ratios llamaprof / llama.cpp. Not a test: timings only. Run it on an idle machine (it prints the
# load average before and after).
#   bench/vs_llama_bench.sh MODEL[,MODEL...] [-t 2] [-p 512] [-n 128] [-r 2] [--rounds 2] [--llama-bench PATH]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${LLAMAPROF_CLI:-$root/build/tools/cli/llamaprof}"
models="${1:?usage: bench/vs_llama_bench.sh MODEL[,MODEL...] [-t T] [-p P] [-n N] [-r R] [--rounds K]}"
shift
threads=2 pp=512 tg=128 reps=2 rounds=2 llama_bench=""
while (($#)); do
  case "$1" in
    -t) threads="$2"; shift 2 ;;
    -p) pp="$2"; shift 2 ;;
    -n) tg="$2"; shift 2 ;;
    -r) reps="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --llama-bench) llama_bench="$2"; shift 2 ;;
    *) echo "vs_llama_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$llama_bench" ]]; then
  llama_bench="$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/llamaprof/llama.cpp/*/build/bin/llama-bench 2>/dev/null | head -n 1 || true)"
fi
[[ -x "$llama_bench" ]] || { echo "vs_llama_bench: llama-bench not found (scripts/setup builds it)" >&2; exit 1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-); $(date -u +%FT%TZ)"
echo "llama-bench: $llama_bench"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# "pp tg" tokens/s (means over the repetitions) of one engine on one model.
llamaprof_run() {
  "$cli" bench -m "$1" -t "$threads" -p "$pp" -n "$tg" -r "$reps" --no-load --no-ttft -o json |
    python3 -c 'import json,sys
r = json.load(sys.stdin)
pp = next((x["mean"] for x in r if x["test"].startswith("pp")), 0)
tg = next((x["mean"] for x in r if x["test"].startswith("tg")), 0)
print(pp, tg)'
}
llama_cpp_run() {
  "$llama_bench" -m "$1" -t "$threads" -p "$pp" -n "$tg" -r "$reps" -o json 2>/dev/null |
    python3 -c 'import json,sys
r = json.load(sys.stdin)
pp = next((x["avg_ts"] for x in r if x["n_prompt"] > 0 and x["n_gen"] == 0), 0)
tg = next((x["avg_ts"] for x in r if x["n_gen"] > 0 and x["n_prompt"] == 0), 0)
print(pp, tg)'
}

printf '| model | engine | round | pp%s t/s | tg%s t/s |\n|---|---|---|---|---|\n' "$pp" "$tg"
IFS=, read -r -a model_list <<<"$models"
for m in "${model_list[@]}"; do
  for ((k = 1; k <= rounds; k++)); do
    for e in llamaprof llama.cpp; do
      fn=llamaprof_run
      [[ "$e" == llama.cpp ]] && fn=llama_cpp_run
      read -r p g < <($fn "$m")
      echo "$(basename "$m") $e $p $g" >>"$tmp/rows"
      printf '| %s | %s | %d | %.2f | %.2f |\n' "$(basename "$m")" "$e" "$k" "$p" "$g"
    done
  done
done
echo
python3 - "$tmp/rows" "$pp" "$tg" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
pp, tg = sys.argv[2], sys.argv[3]
print(f"| model | llamaprof pp{pp} | llama.cpp pp{pp} | ratio | llamaprof tg{tg} | llama.cpp tg{tg} | ratio |")
print("|---|---|---|---|---|---|---|")
for m in dict.fromkeys(r[0] for r in rows):
    med = {e: [statistics.median(float(r[i]) for r in rows if r[0] == m and r[1] == e) for i in (2, 3)]
           for e in ("llamaprof", "llama.cpp")}
    a, b = med["llamaprof"], med["llama.cpp"]
    ratio = lambda x, y: f"{x / y:.2f}x" if y else "-"
    print(f"| {m} | {a[0]:.2f} | {b[0]:.2f} | {ratio(a[0], b[0])} | {a[1]:.2f} | {b[1]:.2f} | {ratio(a[1], b[1])} |")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
