#!/usr/bin/env bash
# Issue 12 section 5: the part-2 families against llama.cpp, pp512 and tg128 at 2 threads, Q4_K_M:
# gemma3-4b, phi3-mini and the MoE qwen3-30b-a3b shapes (each through bench/e2e_vs_llamacpp.mjs,
# which alternates the engines in fresh processes), then the profiler's roofline of the MoE model
# (bytes per token with the selected experts' share, % of the measured bandwidth limit).
#   bench/families_vs_llamacpp.sh [MODELS_DIR]        default: models/
#   PRESETS="gemma3-4b" REPS=3 bench/families_vs_llamacpp.sh
# Needs an idle machine (llama.cpp's threads spin: one busy neighbour halves its decode) and disk
# for the files: gemma3-4b ~2.5 GiB, phi3-mini ~2.3 GiB, qwen3-30b-a3b ~17 GiB (mapped, not read
# whole: decode reads ~3B parameters' worth per token). Prints figures only; not a test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${LLAMAPROF_CLI:-$root/build/tools/cli/llamaprof}"
out="${1:-$root/models}"
read -r -a presets <<<"${PRESETS:-gemma3-4b phi3-mini qwen3-30b-a3b}"
[[ -x "$cli" ]] || { echo "families_vs_llamacpp: $cli not built" >&2; exit 1; }
mkdir -p "$out"
for preset in "${presets[@]}"; do
  echo "== $preset Q4_K_M: pp512 / tg128, 2 threads"
  node "$root/bench/e2e_vs_llamacpp.mjs" --models "$out" --preset "$preset" --types Q4_K_M --threads 2 \
    --reps "${REPS:-2}" --pp 512 --tg 128 --json "$out/$preset-q4_k_m-e2e.json"
done
moe="$out/qwen3-30b-a3b-q4_k_m.gguf"
if [[ -s "$moe" ]]; then
  echo "== profiler roofline of $moe (llamaprof vs llama.cpp, 2 threads)"
  "$cli" profile "$moe" --engines llamaprof,llama.cpp --threads 2 -n 128 -o "$out/qwen3-30b-a3b-profile"
fi
