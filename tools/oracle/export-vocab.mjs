#!/usr/bin/env node
// Writes the Llama 2 vocabulary (from llama-tokenizer-js) as a TSV file for `llamaprof make-model`.
//   node tools/oracle/export-vocab.mjs OUT.tsv
// Format (UTF-8, "\n" line ends):
//   lines starting with "#" are comments (the first line names the columns);
//   every other line is: id <TAB> score <TAB> type <TAB> text
//   id     token id, 0..n-1, in order
//   score  SentencePiece score (a float; see buildVocab in llama2-vocab.mjs)
//   type   GGUF token type: 1 normal, 2 unknown, 3 control, 6 byte
//   text   the token string with "\" "\t" "\n" "\r" escaped as \\ \t \n \r (nothing else escaped)
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { buildVocab, escapeTsv } from "./llama2-vocab.mjs";

const out = process.argv[2];
if (!out || process.argv.length > 3) {
  console.error("usage: node tools/oracle/export-vocab.mjs OUT.tsv");
  process.exit(2);
}
const vocab = buildVocab();
const lines = ["# llama2-vocab: id\tscore\ttype\ttext (from llama-tokenizer-js; text escapes \\\\ \\t \\n \\r)"];
for (const { id, score, type, text } of vocab) lines.push(`${id}\t${score}\t${type}\t${escapeTsv(text)}`);
mkdirSync(dirname(out) || ".", { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
writeFileSync(tmp, lines.join("\n") + "\n");
renameSync(tmp, out);
console.error(`export-vocab: ${vocab.length} tokens -> ${out}`);
