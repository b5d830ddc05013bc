// `llamaprof embed` against llama.cpp's embeddings (node-llama-cpp's LlamaEmbeddingContext) on the
// same file. For a model without <arch>.pooling_type llama.cpp leaves pooling at "none" and
// node-llama-cpp returns the last token's embedding (llama_get_embeddings_ith(-1)): llamaprof's
// --pooling last. Both evaluate BOS + the text.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { disposeOracle, loadOracleModel } from "../../tools/oracle/oracle.mjs";
import { archTestPresets, ensureModel, runCli, testPresets } from "../../tools/oracle/test-models.mjs";

const TEXTS = ["Hello world", "The quick brown fox jumps over the lazy dog. It was a sunny day in the park."];

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
  return dot / Math.sqrt(na * nb);
}

describe("embeddings vs llama.cpp", () => {
  after(async () => disposeOracle());
  for (const preset of [...testPresets, archTestPresets[0]]) {
    test(`${preset} F16: the last token's final hidden state`, async () => {
      const path = ensureModel(preset, "F16");
      const model = await loadOracleModel(path);
      const ctx = await model.createEmbeddingContext({ contextSize: 128, threads: 2 });
      try {
        for (const text of TEXTS) {
          const oracle = Array.from((await ctx.getEmbeddingFor(text)).vector);
          const out = JSON.parse(runCli(["embed", "-m", path, "-p", text, "--pooling", "last", "--json", "-t", "2"]));
          assert.equal(out.pooling, "last");
          assert.equal(out.embedding.length, oracle.length);
          let maxDiff = 0, maxAbs = 0;
          for (let i = 0; i < oracle.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(out.embedding[i] - oracle[i]));
            maxAbs = Math.max(maxAbs, Math.abs(oracle[i]));
          }
          // F16 weights, F16 KV caches on both sides: agreement to rounding, on values of O(1).
          assert.ok(maxDiff <= 2e-2 * Math.max(1, maxAbs), `${preset} ${JSON.stringify(text)}: max diff ${maxDiff}`);
          assert.ok(cosine(out.embedding, oracle) > 0.9999, `${preset}: cosine ${cosine(out.embedding, oracle)}`);
          // and a different pooling is not the same vector (the comparison can fail)
          const mean = JSON.parse(runCli(["embed", "-m", path, "-p", text, "--pooling", "mean", "--json"]));
          assert.ok(cosine(mean.embedding, oracle) < 0.999);
        }
      } finally {
        await ctx.dispose();
        await model.dispose();
      }
    });
  }
});
