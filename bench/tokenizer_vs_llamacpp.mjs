#!/usr/bin/env node
// Tokenizer throughput, llamaprof vs llama.cpp (node-llama-cpp 3.21.1, prebuilt), in one run: the
// same ~1 MB mixed text (English prose from docs/, C++ from src/, CJK paragraphs) encoded as one
// string without BOS, best of --reps, on llama.cpp's vocabulary-only files (scripts/setup). The ids
// must be identical (checked); vocabulary loading is not timed. Not a test: timings only.
//
//   node bench/tokenizer_vs_llamacpp.mjs [--vocabs llama-bpe,qwen2] [--reps 5] [--mb 1]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { disposeOracle, loadOracleModel } from "../tools/oracle/oracle.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = process.env.LLAMAPROF_CLI || join(root, "build/tools/cli/llamaprof");
const models = join(root, "tools/oracle/generated/llama.cpp/models");

function parseArgs(argv) {
  const o = { vocabs: ["llama-bpe", "qwen2"], reps: 5, mb: 1 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--vocabs": o.vocabs = v.split(","); i++; break;
      case "--reps": o.reps = Number(v); i++; break;
      case "--mb": o.mb = Number(v); i++; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return o;
}

// Roughly 45% English, 35% code, 20% CJK, interleaved in chunks, `mb` MB in total (UTF-8 bytes).
function mixedText(mb) {
  const files = (dir, ext) => readdirSync(join(root, dir)).filter((f) => f.endsWith(ext)).map((f) => readFileSync(join(root, dir, f), "utf8"));
  const english = files("docs", ".md").join("\n\n");
  const code = [...files("src/tokenizer", ".cpp"), ...files("src/model", ".cpp"), ...files("src/gguf", ".cpp")].join("\n");
  const cjk = [
    "我想在苹果公司工作一千三百一十四天。今天天气很好，我们去公园散步吧！这个分词器的速度怎么样？",
    "日本語のテキストを処理するには、ひらがな、カタカナ、漢字の三種類の文字を扱う必要があります。",
    "한국어 문장은 띄어쓰기를 사용합니다. 토크나이저는 바이트 단위로 동작합니다.",
    "机器学习模型需要大量的数据进行训练，而推理引擎则负责在中央处理器上高效地运行这些模型。",
  ].join("\n");
  const target = mb * 1e6;
  const parts = [];
  let bytes = 0;
  for (let i = 0; bytes < target; i++) {
    const take = (src, n) => src.slice((i * n) % Math.max(1, src.length - n), ((i * n) % Math.max(1, src.length - n)) + n);
    for (const piece of [take(english, 4500), take(code, 3500), cjk.repeat(3)]) {
      parts.push(piece);
      bytes += Buffer.byteLength(piece, "utf8");
    }
  }
  return parts.join("\n");
}

const opts = parseArgs(process.argv.slice(2));
const text = mixedText(opts.mb);
const work = mkdtempSync(join(tmpdir(), "llamaprof-tokbench-"));
const input = join(work, "text.jsonl");
writeFileSync(input, JSON.stringify(text) + "\n");
console.log(`text: ${Buffer.byteLength(text, "utf8")} bytes, ${text.length} UTF-16 units; best of ${opts.reps}`);
console.log("vocab        engine      tokens      seconds     MB/s");
try {
  for (const name of opts.vocabs) {
    const path = join(models, `ggml-vocab-${name}.gguf`);
    const run = spawnSync(cli, ["tokenize", "-m", path, "--json", "--no-bos", "--repeat", String(opts.reps), "--file", input],
      { maxBuffer: 1 << 30, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`llamaprof failed: ${run.stderr}`);
    const ours = JSON.parse(run.stdout.trim());  // the ids; the timing comes as JSON on stderr
    const timing = JSON.parse(run.stderr.trim().split("\n").pop());

    const model = await loadOracleModel(path, { vocabOnly: true });
    let best = Infinity;
    let theirs;
    for (let r = 0; r < opts.reps; r++) {
      const t0 = process.hrtime.bigint();
      theirs = model.tokenize(text, false);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    await model.dispose();
    const same = ours.length === theirs.length && ours.every((id, i) => id === theirs[i]);
    const mbs = (s) => (Buffer.byteLength(text, "utf8") / 1e6 / s).toFixed(2);
    console.log(`${name.padEnd(12)} llamaprof  ${String(ours.length).padStart(7)}  ${timing.seconds.toFixed(4).padStart(11)}  ${mbs(timing.seconds).padStart(7)}`);
    console.log(`${name.padEnd(12)} llama.cpp  ${String(theirs.length).padStart(7)}  ${best.toFixed(4).padStart(11)}  ${mbs(best).padStart(7)}`);
    console.log(`${name.padEnd(12)} ids identical: ${same}; llamaprof / llama.cpp throughput: ${(best / timing.seconds).toFixed(2)}x`);
  }
} finally {
  await disposeOracle();
  rmSync(work, { recursive: true, force: true });
}
