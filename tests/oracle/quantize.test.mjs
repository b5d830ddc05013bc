// llama.cpp (node-llama-cpp) loads and generates from every file `llamaprof quantize` writes:
// the tiny preset in F32, quantized to every recipe, with the recipe's file type and base type.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { disposeOracle, greedy, loadOracleModel, readGgufFileInfo } from "../../tools/oracle/oracle.mjs";
import { allTypes, cliPath, ensureModel, modelCacheDir, runCli } from "../../tools/oracle/test-models.mjs";

// llama_ftype values (llama.h) and the ggml type of attn_q each recipe gives.
const fileType = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_M: 12, Q4_K_M: 15, Q5_K_M: 17, Q6_K: 18, BF16: 32 };
const baseGgmlType = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K_M: 11, Q4_K_M: 12, Q5_K_M: 13, Q6_K: 14, BF16: 30 };

describe("llamaprof quantize x llama.cpp", () => {
  after(disposeOracle);
  for (const type of allTypes.filter((t) => t !== "F32")) {
    test(`tiny F32 -> ${type}: metadata, load, generate`, async () => {
      const input = ensureModel("tiny", "F32");
      const output = join(modelCacheDir(), `tiny-quantized-${type}.gguf`);
      if (!existsSync(output) || statSync(output).mtimeMs < statSync(cliPath()).mtimeMs) {
        runCli(["quantize", input, output, type, "--threads", "2"]);
      }
      const info = await readGgufFileInfo(output, { logWarnings: false });
      assert.equal(info.metadata.general.file_type, fileType[type]);
      assert.equal(info.metadata.general.quantization_version, 2);
      const byName = new Map(info.tensorInfo.map((ti) => [ti.name, ti]));
      assert.equal(byName.get("blk.0.attn_q.weight").ggmlType, baseGgmlType[type]);
      assert.equal(byName.get("blk.0.attn_norm.weight").ggmlType, 0, "norms stay F32");

      const model = await loadOracleModel(output);
      let out;
      try {
        out = await greedy(model, "The llama is a domesticated South American camelid", { n: 8, topK: 5, ctx: 128 });
      } finally {
        await model.dispose();
      }
      assert.ok(out.ids.length === 8 || out.stop === "eog", `generated ${out.ids.length} tokens`);
      for (const step of out.steps) {
        assert.equal(step.top[0].id, step.id, "greedy takes the most probable token");
        assert.ok(step.top.every((x) => Number.isFinite(x.logprob) && x.logprob <= 0));
      }
    });
  }
});
