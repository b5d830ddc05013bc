#!/usr/bin/env bash
# Cold start against the disk: for each repetition, evict MODEL from the page cache (vmtouch -e),
# then time one of
#   dd       dd if=MODEL of=/dev/null bs=16M      (the time to read the evicted file)
#   mmap     llamaprof run -n 1 -p Hi             (default: map, the first forward pass faults the weights in)
#   no-mmap  llamaprof run --no-mmap -n 1 -p Hi   (read the whole file into memory first)
# alternating, so all three see the same machine. llamaprof's times are wall clock for the whole
# process (load + 2-token prompt + 1 generated token): with mmap the load itself is only the
# mapping, and the weights arrive during the first forward pass. Prints medians and the ratios to
# dd. Not a test: timings only.
#   bench/cold_load_vs_dd.sh MODEL [REPS=3] [THREADS=2]
set -euo pipefail
model=${1:?usage: bench/cold_load_vs_dd.sh MODEL [REPS] [THREADS]}
reps=${2:-3}
threads=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${LLAMAPROF_CLI:-$root/build/tools/cli/llamaprof}
command -v vmtouch >/dev/null || { echo "needs vmtouch (scripts/setup installs it)" >&2; exit 1; }

seconds() {  # seconds COMMAND...: wall time of the command, in seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' 
}

declare -A times
for ((i = 0; i < reps; i++)); do
  for what in dd mmap no-mmap; do
    vmtouch -q -e "$model"
    case $what in
      dd) t=$(seconds dd if="$model" of=/dev/null bs=16M) ;;
      mmap) t=$(seconds "$cli" run -m "$model" -p Hi -n 1 -t "$threads" --temp 0) ;;
      no-mmap) t=$(seconds "$cli" run -m "$model" -p Hi -n 1 -t "$threads" --temp 0 --no-mmap) ;;
    esac
    printf 'rep %d %-8s %6.2f s\n' "$i" "$what" "$t"
    times[$what]+="$t "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
dd_med=$(echo "${times[dd]}" | median)
echo
echo "| $(basename "$model") | median s | ratio to dd |"
echo "|---|---|---|"
for what in dd mmap no-mmap; do
  m=$(echo "${times[$what]}" | median)
  printf '| %s | %.2f | %.2fx |\n' "$what" "$m" "$(awk -v a="$m" -v b="$dd_med" 'BEGIN {print a / b}')"
done
