#!/usr/bin/env node
// llama.cpp (through node-llama-cpp 3.21.1) as the reference implementation: tokenization, greedy
// continuation and top-k log-probabilities of a GGUF file, printed as JSON.
//
//   node tools/oracle/oracle.mjs --model F.gguf [--tokenize '["a","b"]' | --tokenize-file F.json]
//        [--special] [--prompt TEXT] [--n 32] [--top-k 5] [--threads N] [--ctx N]
//
// Output: {"model": path, "vocab_size", "bos", "eos",
//          "tokenize": [{"text", "special", "ids", "ids_bos"}, ...],      (with --tokenize*)
//          "generate": {"prompt", "prompt_ids", "ids", "text", "stop",   (with --prompt)
//                       "steps": [{"id", "top": [{"id", "logprob"}, ...]}, ...]}}
// "ids" never holds BOS; "ids_bos" is what llama.cpp evaluates (BOS first when the model asks for
// it). "special" says whether text like "<s>" was parsed as a special token.
// Greedy is argmax of the raw logits: temperature 0 makes node-llama-cpp's sampler chain a bare
// llama.cpp greedy sampler (no top-k/top-p, no repeat penalty: it is off unless passed), and
// `probabilities` is a softmax over the whole vocabulary of those untouched logits.
// Usable as a module: see the exported functions.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

export { readGgufFileInfo } from "node-llama-cpp";

let llamaPromise = null;

// One llama.cpp instance per process, CPU only, silent.
export function getOracleLlama() {
  llamaPromise ??= getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.disabled,
    logger: () => {},
    progressLogs: false,
  });
  return llamaPromise;
}

export async function loadOracleModel(path, { vocabOnly = false } = {}) {
  const llama = await getOracleLlama();
  return llama.loadModel({ modelPath: path, gpuLayers: 0, vocabOnly });
}

function withBos(model, ids) {
  return model.tokens.shouldPrependBosToken ? [model.tokens.bos, ...ids] : [...ids];
}

// Tokenizes each string as llama.cpp does: with the SentencePiece leading space, without BOS ("ids")
// and with it ("ids_bos"). special: parse special-token text such as "<s>" into the special token.
export function tokenizeStrings(model, strings, { special = false } = {}) {
  return strings.map((text) => {
    const ids = model.tokenize(text, special);
    return { text, special, ids, ids_bos: withBos(model, ids) };
  });
}

// Greedy continuation of prompt (BOS prepended as the model asks) for n tokens, or up to an
// end-of-generation token (included, then stops). Each step records the chosen id and the top-k
// log-probabilities of the full-vocabulary softmax over the raw logits.
export async function greedy(model, prompt, { n = 32, topK = 5, threads = 2, ctx = 512, special = false } = {}) {
  const promptIds = withBos(model, model.tokenize(prompt, special));
  if (promptIds.length + n > ctx) throw new Error(`prompt (${promptIds.length} tokens) + ${n} does not fit ctx ${ctx}`);
  const context = await model.createContext({
    contextSize: ctx,
    batchSize: Math.min(ctx, 512),
    threads: { ideal: threads, min: threads },
    sequences: 1,
  });
  try {
    const sequence = context.getSequence();
    const steps = [];
    let stop = "length";
    if (n > 0) {
      const stream = sequence.evaluateWithMetadata(promptIds, { probabilities: true }, { temperature: 0, yieldEogToken: true });
      for await (const { token, probabilities } of stream) {
        const top = [];
        for (const [id, p] of probabilities) {
          if (top.length >= topK) break;
          top.push({ id, logprob: Math.log(p) });
        }
        if (top[0]?.id !== token) throw new Error(`greedy token ${token} is not the most probable (${top[0]?.id})`);
        steps.push({ id: token, top });
        if (model.isEogToken(token)) {
          stop = "eog";
          break;
        }
        if (steps.length >= n) break;
      }
    }
    const ids = steps.map((s) => s.id);
    return { prompt, prompt_ids: promptIds, ids, text: model.detokenize(ids), stop, steps };
  } finally {
    await context.dispose();
  }
}

export async function runOracle({ model: path, tokenize = null, special = false, prompt = null, n = 32, topK = 5, threads = 2, ctx = 512 }) {
  const model = await loadOracleModel(path, { vocabOnly: prompt == null });
  try {
    const vocabSize = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? null;
    const out = { model: path, vocab_size: vocabSize, bos: model.tokens.bos, eos: model.tokens.eos };
    if (tokenize) out.tokenize = tokenizeStrings(model, tokenize, { special });
    if (prompt != null) out.generate = await greedy(model, prompt, { n, topK, threads, ctx, special });
    return out;
  } finally {
    await model.dispose();
  }
}

export async function disposeOracle() {
  if (llamaPromise) {
    const llama = await llamaPromise;
    llamaPromise = null;
    await llama.dispose();
  }
}

function parseArgs(argv) {
  const opts = {};
  const need = (i) => {
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  const int = (i) => {
    const v = Number(need(i));
    if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i]}: not a non-negative integer: ${argv[i + 1]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case "--model": opts.model = need(i); i++; break;
      case "--tokenize": opts.tokenize = JSON.parse(need(i)); i++; break;
      case "--tokenize-file": opts.tokenize = JSON.parse(readFileSync(need(i), "utf8")); i++; break;
      case "--special": opts.special = true; break;
      case "--prompt": opts.prompt = need(i); i++; break;
      case "--n": opts.n = int(i); i++; break;
      case "--top-k": opts.topK = int(i); i++; break;
      case "--threads": opts.threads = int(i); i++; break;
      case "--ctx": opts.ctx = int(i); i++; break;
      case "-h": case "--help":
        console.log("usage: node tools/oracle/oracle.mjs --model F.gguf [--tokenize JSON_ARRAY | --tokenize-file F] [--special] [--prompt TEXT --n 32 --top-k 5 --threads N --ctx N]");
        process.exit(0);
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!opts.model) throw new Error("--model is required");
  if (opts.tokenize && !(Array.isArray(opts.tokenize) && opts.tokenize.every((s) => typeof s === "string")))
    throw new Error("--tokenize: expected a JSON array of strings");
  return opts;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`oracle: ${e.message}`);
    process.exit(2);
  }
  try {
    const out = await runOracle(opts);
    process.stdout.write(JSON.stringify(out) + "\n");
    await disposeOracle();
  } catch (e) {
    console.error(`oracle: ${e.message}`);
    await disposeOracle().catch(() => {});
    process.exit(1);
  }
}
