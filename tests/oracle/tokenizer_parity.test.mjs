// llamaprof's tokenizer against llama.cpp (node-llama-cpp) on the same GGUF (make-model --preset
// tiny: the Llama 2 vocabulary): identical ids for every string of tests/data/tokenizer_corpus.json,
// with and without special-token parsing, with BOS, the package test cases of llama-tokenizer-js,
// and identical text back from detokenize. `llamaprof tokenize --file` runs the whole corpus in
// one process (one JSON string per input line, one JSON array per output line).
// Then the same corpus on every byte-level BPE vocabulary llama.cpp ships and on its two SPM ones
// (models/ggml-vocab-*.gguf, vocabulary-only files extracted by scripts/setup), and their
// end-of-generation sets.
// Invalid UTF-8 cannot travel in a JSON/JS string: tests/cpp/tokenizer_bpe.cpp covers it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readPackageTestCases } from "../../tools/oracle/llama2-vocab.mjs";
import { disposeOracle, loadOracleModel } from "../../tools/oracle/oracle.mjs";
import { ensureModel, repoRoot, runCli } from "../../tools/oracle/test-models.mjs";
import { existsSync } from "node:fs";

const corpus = JSON.parse(readFileSync(join(repoRoot, "tests/data/tokenizer_corpus.json"), "utf8"));
const llamaCppModels = join(repoRoot, "tools/oracle/generated/llama.cpp/models");
const bpeVocabs = ["llama-bpe", "qwen2", "qwen35", "gpt-2", "starcoder", "deepseek-coder", "deepseek-llm", "falcon",
  "command-r", "refact", "mpt", "aquila", "gpt-neox"];
const spmVocabs = ["llama-spm", "phi-3"];  // phi-3: special tokens strip the white space after them
const gemma4Vocabs = ["gemma-4"];  // BPE over SentencePiece pieces (tokenizer.ggml.model "gemma4")

// Runs `llamaprof tokenize -m modelPath` over `inputs` (strings, or id arrays with --decode) in one process.
function runTokenizeFile(modelPath, workDir, inputs, flags) {
  const file = join(workDir, "input.jsonl");
  writeFileSync(file, inputs.map((x) => JSON.stringify(x)).join("\n") + "\n");
  const out = runCli(["tokenize", "-m", modelPath, "--json", ...flags, "--file", file]);
  const lines = out.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, inputs.length, "one output line per input line");
  return lines.map((l) => JSON.parse(l));
}

// Compares every input; reports all mismatches at once and how many matched.
function compareAll(inputs, got, expected, label) {
  const bad = [];
  inputs.forEach((t, i) => {
    if (JSON.stringify(got[i]) !== JSON.stringify(expected[i])) {
      bad.push(`${JSON.stringify(t).slice(0, 80)}\n    ours:      ${JSON.stringify(got[i])}\n    llama.cpp: ${JSON.stringify(expected[i])}`);
    }
  });
  console.log(`# ${label}: ${inputs.length - bad.length}/${inputs.length} identical to llama.cpp`);
  assert.equal(bad.length, 0, `${bad.length} of ${inputs.length} differ:\n  ${bad.slice(0, 10).join("\n  ")}`);
}

describe("tokenizer parity with llama.cpp", () => {
  let model;
  let modelPath;
  let workDir;
  before(async () => {
    modelPath = ensureModel("tiny", "Q8_0");
    model = await loadOracleModel(modelPath, { vocabOnly: true });
    workDir = mkdtempSync(join(tmpdir(), "llamaprof-tokenizer-"));
  });
  after(async () => {
    await model?.dispose();
    await disposeOracle();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const ours = (inputs, flags) => runTokenizeFile(modelPath, workDir, inputs, flags);

  test("the corpus is large and varied enough", () => {
    assert.ok(corpus.length >= 200, `${corpus.length} strings`);
    assert.ok(corpus.includes(""), "the empty string");
    assert.ok(corpus.some((s) => s.includes("<s>")) && corpus.some((s) => s.includes("</s>")), "special-token text");
    assert.equal(new Set(corpus).size, corpus.length, "no duplicates");
  });

  for (const special of [false, true]) {
    test(`corpus ids are llama.cpp's (parse special: ${special})`, () => {
      const expected = corpus.map((t) => model.tokenize(t, special));
      const got = ours(corpus, special ? ["--no-bos", "--parse-special"] : ["--no-bos"]);
      compareAll(corpus, got, expected, `corpus, special=${special}`);
    });
  }

  test("with BOS: llama.cpp's add_special (BOS first, also for the empty string)", () => {
    assert.equal(model.tokens.shouldPrependBosToken, true);
    const expected = corpus.map((t) => [model.tokens.bos, ...model.tokenize(t, false)]);
    compareAll(corpus, ours(corpus, []), expected, "corpus with BOS");
  });

  test("llama-tokenizer-js's own test cases give exactly the expected ids", () => {
    const cases = readPackageTestCases();
    assert.ok(cases.length >= 12, `only ${cases.length} test cases found`);
    // The package's encode adds BOS and the leading space: our default (BOS) does the same.
    const got = ours(cases.map((c) => c.text), []);
    compareAll(cases.map((c) => c.text), got, cases.map((c) => c.ids), "llama-tokenizer-js cases");
  });

  test("detokenize gives llama.cpp's text (leading-space and BOS rules, special rendering)", () => {
    const idLists = [];
    for (const t of corpus) {
      const ids = model.tokenize(t, true);
      if (ids.length === 0) continue;
      idLists.push(ids, [model.tokens.bos, ...ids]);
    }
    for (const render of [false, true]) {
      const expected = idLists.map((ids) => model.detokenize(ids, render));
      const got = ours(idLists, render ? ["--decode", "--render-special"] : ["--decode"]);
      compareAll(idLists, got, expected, `detokenize, render special=${render}`);
    }
  });

  test("human output: one line per token, id -> 'piece'", () => {
    const out = runCli(["tokenize", "-m", modelPath, "Hello world"]);
    const ids = [model.tokens.bos, ...model.tokenize("Hello world", false)];
    const lines = out.trimEnd().split("\n");
    assert.equal(lines.length, ids.length);
    lines.forEach((line, i) => assert.match(line, new RegExp(`^\\s*${ids[i]} -> '.*'$`)));
    assert.match(lines[0], /^\s*1 -> '<s>'$/);
  });

  test("errors: a GGUF without a tokenizer is a clear error, exit 1", () => {
    const file = join(workDir, "not-a-model.gguf");
    writeFileSync(file, "GGUF");
    assert.throws(() => runCli(["tokenize", "-m", file, "x"]), (e) => e.status === 1 && /llamaprof: error:/.test(e.stderr));
    assert.throws(() => runCli(["tokenize", "-m", modelPath]), (e) => e.status === 2, "no TEXT and no --file is bad usage");
  });
});

describe("tokenizer parity with llama.cpp on its vocabulary-only files (byte-level BPE and SPM)", () => {
  let workDir;
  before(() => {
    assert.ok(existsSync(llamaCppModels), `${llamaCppModels} is missing: run scripts/setup`);
    workDir = mkdtempSync(join(tmpdir(), "llamaprof-bpe-"));
  });
  after(async () => {
    await disposeOracle();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test("the corpus has what byte-level BPE needs", () => {
    for (const needle of ["I'M", "DON'T", "\r\n\r\n", "12345678901234567890", "\u200d", "<|endoftext|>", "<|im_end|>", "你好"]) {
      assert.ok(corpus.some((s) => s.includes(needle)), needle);
    }
  });

  for (const name of [...bpeVocabs, ...spmVocabs, ...gemma4Vocabs]) {
    test(`${name}: ids, ids with BOS, detokenize and EOG are llama.cpp's`, async () => {
      const path = join(llamaCppModels, `ggml-vocab-${name}.gguf`);
      const model = await loadOracleModel(path, { vocabOnly: true });
      try {
        const ours = (inputs, flags) => runTokenizeFile(path, workDir, inputs, flags);
        const info = JSON.parse(runCli(["tokenize", "-m", path, "--eog"]));
        assert.equal(info.model, spmVocabs.includes(name) ? "llama" : gemma4Vocabs.includes(name) ? "gemma4" : "gpt2");
        for (const special of [false, true]) {
          const expected = corpus.map((t) => model.tokenize(t, special));
          compareAll(corpus, ours(corpus, special ? ["--no-bos", "--parse-special"] : ["--no-bos"]), expected,
            `${name} (${info.pre}), special=${special}`);
        }
        const bos = model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
        compareAll(corpus, ours(corpus, []), corpus.map((t) => [...bos, ...model.tokenize(t, false)]), `${name} with add_special`);

        const idLists = corpus.map((t) => model.tokenize(t, true)).filter((ids) => ids.length > 0);
        for (const render of [false, true]) {
          const expected = idLists.map((ids) => model.detokenize(ids, render));
          compareAll(idLists, ours(idLists, render ? ["--decode", "--render-special"] : ["--decode"]), expected,
            `${name} detokenize, render special=${render}`);
        }

        const eog = [];
        for (let id = 0; id < info.n_vocab; id++) if (model.isEogToken(id)) eog.push(id);
        assert.deepEqual(info.eog, eog, `${name}: end-of-generation ids`);
        console.log(`# ${name}: EOG ${JSON.stringify(eog)} identical to llama.cpp`);
      } finally {
        await model.dispose();
      }
    });
  }
});
