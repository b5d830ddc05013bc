// Shared by tests/oracle/*.test.mjs: the llamaprof CLI, and a cache of models that
// `llamaprof make-model` writes on demand (build/test-models/, or $LLAMAPROF_TEST_MODELS).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

// Every recipe make-model accepts (src/quant/recipe.h).
export const allTypes = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"];
// The presets small enough for every test run (the 7B shapes are for bench/make_7b_models.sh).
export const testPresets = ["tiny", "tiny-gqa"];
export const demoPresets = ["demo", "demo-mistral"];
// Tiny shapes of the newer architectures (src/model/presets.cpp), with the Llama 2 vocabulary, and
// the types the oracle tests run them in (one float, the legacy and K-quant families; the full
// type matrix stays on the llama presets above, which share every kernel with these).
export const archTestPresets = ["tiny-llama3", "tiny-qwen2", "tiny-qwen3"];
export const archTypes = ["F16", "Q8_0", "Q4_0", "Q4_K_M", "Q6_K"];
// Part 2's families (Gemma 2/3, Phi-3, Qwen3 MoE), in the four types the issue names (fewer than
// archTypes to keep CI time modest: Q4_0 shares its kernels with the other presets).
export const arch2TestPresets = ["tiny-gemma2", "tiny-gemma3", "tiny-phi3", "tiny-qwen3moe"];
export const arch2Types = ["F16", "Q8_0", "Q4_K_M", "Q6_K"];

export function cliPath() {
  const cli = process.env.LLAMAPROF_CLI || join(repoRoot, "build/tools/cli/llamaprof");
  if (!existsSync(cli)) throw new Error(`llamaprof CLI not found at ${cli}: build it (scripts/setup) or set LLAMAPROF_CLI`);
  return cli;
}

export function runCli(args, options = {}) {
  return execFileSync(cliPath(), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28, ...options });
}

export function modelCacheDir() {
  const dir = process.env.LLAMAPROF_TEST_MODELS || join(repoRoot, "build/test-models");
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Path of preset x type x seed in the cache, written by make-model if missing or older than the CLI
// (a rebuilt CLI may generate different bytes).
export function ensureModel(preset, type, { seed = 0 } = {}) {
  const path = join(modelCacheDir(), `${preset}-${type}-s${seed}.gguf`);
  const cli = cliPath();
  if (!existsSync(path) || statSync(path).mtimeMs < statSync(cli).mtimeMs) {
    runCli(["make-model", "--preset", preset, "--type", type, "--seed", String(seed), "-o", path]);
  }
  return path;
}
