// llamaprof's tokenizer against llama.cpp (node-llama-cpp) on the same GGUF (make-model --preset
// tiny: the Llama 2 vocabulary): identical ids for every string of tests/data/tokenizer_corpus.json,
// with and without special-token parsing, with BOS, the package test cases of llama-tokenizer-js,
// and identical text back from detokenize. `llamaprof tokenize --file` runs the whole corpus in
// one process (one JSON string per input line, one JSON array per output line).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readPackageTestCases } from "../../tools/oracle/llama2-vocab.mjs";
import { disposeOracle, loadOracleModel } from "../../tools/oracle/oracle.mjs";
import { ensureModel, repoRoot, runCli } from "../../tools/oracle/test-models.mjs";

const corpus = JSON.parse(readFileSync(join(repoRoot, "tests/data/tokenizer_corpus.json"), "utf8"));

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

  // Runs `llamaprof tokenize` over `inputs` (strings, or id arrays with --decode) in one process.
  function ours(inputs, flags) {
    const file = join(workDir, "input.jsonl");
    writeFileSync(file, inputs.map((x) => JSON.stringify(x)).join("\n") + "\n");
    const out = runCli(["tokenize", "-m", modelPath, "--json", ...flags, "--file", file]);
    const lines = out.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, inputs.length, "one output line per input line");
    return lines.map((l) => JSON.parse(l));
  }

  // Compares every string; reports all mismatches at once and how many matched.
  function compareAll(texts, got, expected, label) {
    const bad = [];
    texts.forEach((t, i) => {
      if (JSON.stringify(got[i]) !== JSON.stringify(expected[i])) {
        bad.push(`${JSON.stringify(t).slice(0, 80)}\n    ours:      ${JSON.stringify(got[i])}\n    llama.cpp: ${JSON.stringify(expected[i])}`);
      }
    });
    console.log(`# ${label}: ${texts.length - bad.length}/${texts.length} identical to llama.cpp`);
    assert.equal(bad.length, 0, `${bad.length} of ${texts.length} differ:\n  ${bad.slice(0, 10).join("\n  ")}`);
  }

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
