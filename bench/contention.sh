#!/usr/bin/env bash
# Decode under contention: tokens/s of tg N at 1 thread on an idle machine, at 2 threads idle, and at
# 2 threads while one other CPU-bound process runs (a shell busy loop, as a build or a browser tab
# would be), for llamaprof (`llamaprof bench`) and llama.cpp (`llama-bench`, setup's native build),
# in one run. The figure of merit is busy-2-thread / idle-1-thread: on a 2-core machine a pool that
# waits for a descheduled worker collapses far below 1; one that takes its work over stays near 1.
# Not a test: timings only. Run it on an otherwise idle machine (it prints the load average first).
#   bench/contention.sh MODEL[,MODEL...] [-n 64] [-r 3] [--llama-bench PATH]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${LLAMAPROF_CLI:-$root/build/tools/cli/llamaprof}"
models="${1:?usage: bench/contention.sh MODEL[,MODEL...] [-n N] [-r R] [--llama-bench PATH]}"
shift
n=64 reps=3 llama_bench=""
while (($#)); do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    -r) reps="$2"; shift 2 ;;
    --llama-bench) llama_bench="$2"; shift 2 ;;
    *) echo "contention: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$llama_bench" ]]; then
  llama_bench="$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/llamaprof/llama.cpp/*/build/bin/llama-bench 2>/dev/null | head -n 1 || true)"
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $(date -u +%FT%TZ)"

competitor=""
start_competitor() { sh -c 'while :; do :; done' & competitor=$!; sleep 0.5; }
# (wait returns the killed shell's 143: not a failure of the benchmark under set -e.)
stop_competitor() {
  if [[ -n "$competitor" ]]; then
    kill "$competitor" 2>/dev/null || true
    wait "$competitor" 2>/dev/null || true
  fi
  competitor=""
}
trap stop_competitor EXIT

# Mean decode tokens/s of one bench run.
llamaprof_tg() {
  "$cli" bench -m "$1" -t "$2" -p 0 -n "$n" -r "$reps" --no-load --no-ttft -o json |
    python3 -c 'import json,sys; print(next(r["mean"] for r in json.load(sys.stdin) if r["test"].startswith("tg")))'
}
llama_cpp_tg() {
  "$llama_bench" -m "$1" -t "$2" -p 0 -n "$n" -r "$reps" -o json 2>/dev/null |
    python3 -c 'import json,sys; print(next(r["avg_ts"] for r in json.load(sys.stdin) if r["n_gen"] > 0))'
}

printf '| model | engine | 1 thread idle | 2 threads idle | 2 threads + 1 busy process | busy-2 / idle-1 |\n'
printf '|---|---|---|---|---|---|\n'
IFS=, read -r -a model_list <<<"$models"
for m in "${model_list[@]}"; do
  engines=(llamaprof)
  [[ -x "$llama_bench" ]] && engines+=(llama.cpp)
  for e in "${engines[@]}"; do
    fn=llamaprof_tg
    [[ "$e" == llama.cpp ]] && fn=llama_cpp_tg
    idle1=$($fn "$m" 1)
    idle2=$($fn "$m" 2)
    start_competitor
    busy2=$($fn "$m" 2)
    stop_competitor
    ratio=$(python3 -c "print(f'{$busy2 / $idle1:.2f}')")
    printf '| %s | %s | %.1f | %.1f | %.1f | %s |\n' "$(basename "$m")" "$e" "$idle1" "$idle2" "$busy2" "$ratio"
  done
done
