#!/usr/bin/env bash
# Writes the large-shape random-weight models for end-to-end benchmarks (they are too big for the
# oracle tests): llama2-7b, mistral-7b and tinyllama-1.1b in the given types.
#   bench/make_7b_models.sh [OUT_DIR] [TYPES...]      default: models/  Q4_0 Q4_K_M
#   PRESETS="llama2-7b" THREADS=2 SEED=0 bench/make_7b_models.sh models Q8_0
#   POOLED=1 ...: rows built from a pool of quantized random blocks (make-model --pooled-blocks), ~100x faster
# Existing files are kept (delete one to rebuild it). Prints the time each file took.
# A 7B Q4_K_M is ~3.6 GiB; F16 ~12.6 GiB: check free disk space first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${LLAMAPROF_CLI:-$root/build/tools/cli/llamaprof}"
out="${1:-$root/models}"
shift || true
types=("$@")
((${#types[@]})) || types=(Q4_0 Q4_K_M)
read -r -a presets <<<"${PRESETS:-llama2-7b mistral-7b tinyllama-1.1b}"
[[ -x "$cli" ]] || { echo "make_7b_models: $cli not built (run scripts/setup)" >&2; exit 1; }
mkdir -p "$out"
for preset in "${presets[@]}"; do
  for type in "${types[@]}"; do
    file="$out/$preset-$(tr '[:upper:]' '[:lower:]' <<<"$type").gguf"
    if [[ -s "$file" ]]; then
      echo "keep  $file"
      continue
    fi
    start=$(date +%s%N)
    "$cli" make-model ${POOLED:+--pooled-blocks} --preset "$preset" --type "$type" --seed "${SEED:-0}" --threads "${THREADS:-0}" -o "$file"
    ms=$((($(date +%s%N) - start) / 1000000))
    printf 'made  %s in %d.%03d s\n' "$file" $((ms / 1000)) $((ms % 1000))
  done
done
