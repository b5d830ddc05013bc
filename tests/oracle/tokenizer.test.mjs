// The Llama 2 vocabulary that make-model writes (exported from llama-tokenizer-js with
// SentencePiece scores and token types) makes llama.cpp tokenize exactly as the real tokenizer did.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildVocab, llamaTokenizer, readPackageTestCases, TokenType } from "../../tools/oracle/llama2-vocab.mjs";
import { disposeOracle, loadOracleModel, readGgufFileInfo, tokenizeStrings } from "../../tools/oracle/oracle.mjs";
import { ensureModel } from "../../tools/oracle/test-models.mjs";

describe("Llama 2 vocabulary", () => {
  let model;
  let modelPath;
  before(async () => {
    modelPath = ensureModel("tiny", "Q8_0");
    model = await loadOracleModel(modelPath, { vocabOnly: true });
  });
  after(async () => {
    await model?.dispose();
    await disposeOracle();
  });

  test("the package's own test cases are found", () => {
    const cases = readPackageTestCases();
    assert.ok(cases.length >= 12, `only ${cases.length} testCase calls found`);
    // And they are what the package itself produces (encode adds BOS and the leading space).
    for (const { text, ids } of cases) assert.deepEqual(llamaTokenizer.encode(text), ids, JSON.stringify(text));
  });

  test("llama.cpp tokenizes every package test case into the expected ids", () => {
    const cases = readPackageTestCases();
    const got = tokenizeStrings(model, cases.map((c) => c.text), { special: false });
    for (let i = 0; i < cases.length; i++) {
      assert.deepEqual(got[i].ids_bos, cases[i].ids, `tokenize(${JSON.stringify(cases[i].text.slice(0, 60))})`);
      assert.deepEqual(got[i].ids, cases[i].ids.slice(1), "without BOS");
    }
  });

  test("llama.cpp agrees with llama-tokenizer-js on more text", () => {
    const texts = [
      "Hello world", "  two leading spaces", "trailing space ", "multiple   inner    spaces",
      "int main(void) { return 0; }\n", "naïve café, jalapeño — “quotes”", "1234567890 3.14159 1e-5",
      "日本語のテキスト", "emoji 😀👍 mix", "UPPER lower MiXeD", "tab\tand\nnewline\r\n", "<s> not special </s>",
    ];
    const got = tokenizeStrings(model, texts, { special: false });
    texts.forEach((t, i) => assert.deepEqual(got[i].ids_bos, llamaTokenizer.encode(t), JSON.stringify(t)));
  });

  test("special-token text is parsed only when asked", () => {
    const [plain] = tokenizeStrings(model, ["<s>x</s>"], { special: false });
    const [special] = tokenizeStrings(model, ["<s>x</s>"], { special: true });
    assert.ok(!plain.ids.includes(1) && !plain.ids.includes(2), `plain: ${plain.ids}`);
    assert.equal(special.ids[0], 1);
    assert.equal(special.ids.at(-1), 2);
  });

  test("the GGUF holds the package's tokens, scores and types exactly", async () => {
    const info = await readGgufFileInfo(modelPath, { readTensorInfo: false, logWarnings: false });
    const ggml = info.metadata.tokenizer.ggml;
    const vocab = buildVocab();
    assert.equal(ggml.model, "llama");
    assert.deepEqual(ggml.tokens, llamaTokenizer.vocabById, "token texts survive TSV escaping and the C++ reader");
    assert.deepEqual(Array.from(ggml.scores), vocab.map((v) => Math.fround(v.score)));
    assert.deepEqual(Array.from(ggml.token_type), vocab.map((v) => v.type));
    assert.equal(ggml.bos_token_id, 1);
    assert.equal(ggml.eos_token_id, 2);
    assert.equal(ggml.unknown_token_id, 0);
    assert.equal(ggml.add_bos_token, true);
    assert.equal(ggml.add_eos_token, false);
  });

  test("scores and types follow the documented rules", () => {
    const vocab = buildVocab();
    assert.equal(vocab.length, 32000);
    assert.equal(vocab[0].type, TokenType.UNKNOWN);
    assert.equal(vocab[1].type, TokenType.CONTROL);
    assert.equal(vocab[2].type, TokenType.CONTROL);
    for (let id = 3; id < 259; id++) assert.equal(vocab[id].type, TokenType.BYTE, vocab[id].text);
    assert.equal(vocab[13].text, "<0x0A>");
    assert.ok(vocab.slice(259).every((v) => v.type === TokenType.NORMAL));
    // "▁t" is the first merge of the list; single characters are no merge's result.
    assert.equal(vocab[260].text, "▁t");
    assert.equal(vocab[260].score, -1);
    assert.equal(vocab[29871].text, "▁");
    assert.equal(vocab[29871].score, 0);
    assert.ok(vocab.every((v) => v.score <= 0));
    // Scores are unique among merged tokens: llama.cpp's merge order is then never a tie.
    const merged = vocab.filter((v) => v.score < 0).map((v) => v.score);
    assert.equal(new Set(merged).size, merged.length);
  });
});
