// The Llama 2 vocabulary as llama-tokenizer-js ships it, decoded the way the package decodes it,
// plus the SentencePiece scores and token types that llama.cpp needs (the package has neither).
//
// llama-tokenizer.js embeds two base64 string constants:
//   llama_vocab_base64   UTF-8 text of the 32000 token strings joined by "\n"; line i is token id i.
//   llama_merges_binary  little-endian uint16 pairs (left id, right id), one pair per merge, in
//                        priority order (the order of tokenizer.json's "merges").
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// GGUF token types (llama_token_type / tokenizer.ggml.token_type).
export const TokenType = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });

export function tokenizerPackageDir() {
  const require = createRequire(join(here, "package.json"));
  return dirname(require.resolve("llama-tokenizer-js/package.json"));
}

function stringConstant(source, name) {
  const match = source.match(new RegExp(`const ${name} = "([A-Za-z0-9+/=]*)"`));
  if (!match) throw new Error(`llama-tokenizer.js: constant ${name} not found (package layout changed?)`);
  return match[1];
}

// Returns { tokens: string[], merges: [leftId, rightId][] } exactly as the package decodes them.
export function readTokenizerData(packageDir = tokenizerPackageDir()) {
  const source = readFileSync(join(packageDir, "llama-tokenizer.js"), "utf8");
  const vocabBytes = Buffer.from(stringConstant(source, "llama_vocab_base64"), "base64");
  const tokens = new TextDecoder("utf-8").decode(vocabBytes).split("\n");
  const mergeBytes = Buffer.from(stringConstant(source, "llama_merges_binary"), "base64");
  if (mergeBytes.length % 4 !== 0) throw new Error(`merges: ${mergeBytes.length} bytes is not a whole number of pairs`);
  const merges = [];
  for (let i = 0; i < mergeBytes.length; i += 4) merges.push([mergeBytes.readUInt16LE(i), mergeBytes.readUInt16LE(i + 2)]);
  return { tokens, merges };
}

// Vocabulary entries {id, score, type, text}.
// score: SentencePiece-style, minus the rank (1-based position in the merge list) of the first merge
//   whose concatenation is the token; 0 for tokens no merge produces (single characters, byte and
//   special tokens). llama.cpp's SPM tokenizer merges the adjacent pair whose concatenation has the
//   highest score, so earlier merges win, as in the BPE merge list.
// type: <unk> UNKNOWN, <s> and </s> CONTROL, <0xNN> BYTE, everything else NORMAL.
export function buildVocab({ tokens, merges } = readTokenizerData()) {
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const score = new Float64Array(tokens.length);
  const scored = new Uint8Array(tokens.length);
  merges.forEach(([left, right], rank) => {
    if (left >= tokens.length || right >= tokens.length) throw new Error(`merge ${rank}: id out of range`);
    const id = idOf.get(tokens[left] + tokens[right]);
    if (id === undefined) throw new Error(`merge ${rank}: ${tokens[left]} + ${tokens[right]} is not a token`);
    if (!scored[id]) {
      scored[id] = 1;
      score[id] = -(rank + 1);
    }
  });
  return tokens.map((text, id) => {
    let type = TokenType.NORMAL;
    if (id === 0) type = TokenType.UNKNOWN;
    else if (id === 1 || id === 2) type = TokenType.CONTROL;
    else if (/^<0x[0-9A-F]{2}>$/.test(text)) type = TokenType.BYTE;
    return { id, score: type === TokenType.NORMAL ? score[id] : 0, type, text };
  });
}

// TSV escaping of the token text: "\" -> "\\", tab -> "\t", newline -> "\n", carriage return -> "\r".
// Nothing else is escaped; the text is UTF-8. (src/model/make_model.cpp reads this back.)
export function escapeTsv(text) {
  return text.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]);
}

export function unescapeTsv(field) {
  return field.replace(/\\(.)/g, (_, c) => ({ "\\": "\\", t: "\t", n: "\n", r: "\r" })[c] ?? `\\${c}`);
}

// Index just past the ")" that closes the "(" before `from`, skipping string literals and comments.
function closingParen(source, from) {
  let depth = 1;
  for (let i = from; i < source.length; i++) {
    const c = source[i];
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < source.length && source[i] !== c; i++) if (source[i] === "\\") i++;
    } else if (c === "/" && source[i + 1] === "/") {
      i = source.indexOf("\n", i);
      if (i < 0) break;
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
    } else if (c === ")" || c === "]" || c === "}") {
      if (--depth === 0) return i;
    }
  }
  throw new Error("llama-tokenizer.js: unbalanced testCase( call");
}

// The package's own tokenizer test cases: every testCase(text, expectedIds) call in
// LlamaTokenizer.defaultTests (llama-tokenizer.js; test-llama-tokenizer.js only runs them).
// expectedIds follow the package's encode() defaults: BOS first, and the SentencePiece leading space.
export function readPackageTestCases(packageDir = tokenizerPackageDir()) {
  const source = readFileSync(join(packageDir, "llama-tokenizer.js"), "utf8");
  const body = source.indexOf("defaultTests(");
  if (body < 0) throw new Error("llama-tokenizer.js: defaultTests not found");
  const cases = [];
  for (let i = source.indexOf("testCase(", body); i >= 0; i = source.indexOf("testCase(", i)) {
    const isDefinition = source.slice(Math.max(0, i - 9), i) === "function ";
    const open = i + "testCase(".length;
    const close = closingParen(source, open);
    if (!isDefinition) {
      // The arguments are plain string and number-array literals.
      const [text, ids] = new Function(`"use strict"; return [${source.slice(open, close)}];`)();
      if (typeof text !== "string" || !Array.isArray(ids)) throw new Error(`testCase at ${i}: unexpected arguments`);
      cases.push({ text, ids });
    }
    i = close;
  }
  return cases;
}

// The package's tokenizer instance (tests compare against it; tests/ cannot resolve tools/oracle's
// node_modules by itself).
export { default as llamaTokenizer } from "llama-tokenizer-js";
