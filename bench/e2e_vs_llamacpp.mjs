#!/usr/bin/env node
// End-to-end comparison with llama.cpp (node-llama-cpp 3.21.1, prebuilt): the same workload through
// both engines, alternating, each run in a fresh process: prompt processing of 512 tokens, then
// greedy generation of 128 tokens, at 1 and 2 threads, on 7B-shape Q4_0 and Q4_K_M files made by
// `llamaprof make-model --preset llama2-7b`. Prints per-run figures, medians and the ratios
// llamaprof / llama.cpp, plus warm load time and peak RSS. Not a test: timings only.
//
//   node bench/e2e_vs_llamacpp.mjs [--models DIR] [--types Q4_0,Q4_K_M] [--threads 1,2] [--reps 2]
//        [--pp 512] [--tg 128] [--json OUT]
// Models are written to DIR (default models/) by bench/make_7b_models.sh when missing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = process.env.LLAMAPROF_CLI || join(root, "build/tools/cli/llamaprof");

function parseArgs(argv) {
  const o = { models: join(root, "models"), types: ["Q4_0", "Q4_K_M"], threads: [1, 2], reps: 2, pp: 512, tg: 128, json: null, preset: "llama2-7b" };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--models": o.models = v; i++; break;
      case "--types": o.types = v.split(","); i++; break;
      case "--threads": o.threads = v.split(",").map(Number); i++; break;
      case "--reps": o.reps = Number(v); i++; break;
      case "--pp": o.pp = Number(v); i++; break;
      case "--tg": o.tg = Number(v); i++; break;
      case "--json": o.json = v; i++; break;
      case "--preset": o.preset = v; i++; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return o;
}

// The child that runs node-llama-cpp: prints one JSON line {load_ms, pp_ms, tg_ms, ...}.
async function llamaCppChild([path, threads, pp, tg, promptFile]) {
  const { getLlama, LlamaLogLevel } = await import(pathToFileURL(join(root, "tools/oracle/node_modules/node-llama-cpp/dist/index.js")).href);
  const ids = JSON.parse(readFileSync(promptFile, "utf8"));
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.disabled, logger: () => {}, progressLogs: false });
  let t = performance.now();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const load_ms = performance.now() - t;
  const n = Number(threads);
  const context = await model.createContext({ contextSize: Number(pp) + Number(tg) + 16, batchSize: 512, threads: { ideal: n, min: n }, sequences: 1 });
  const seq = context.getSequence();
  // Prompt: evaluate the ids without sampling (one batched decode of pp tokens).
  t = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids);
  const pp_ms = performance.now() - t;
  // Generation: greedy tokens, one decode each.
  t = performance.now();
  let count = 0;
  for await (const _ of seq.evaluate([ids[ids.length - 1]], { temperature: 0 })) {
    if (++count >= Number(tg)) break;
  }
  const tg_ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ load_ms, pp_ms, tg_ms, pp_tokens: ids.length, tg_tokens: count }) + "\n");
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

// Runs argv under /usr/bin/time to get the peak RSS (KiB) of the process.
function timed(argv) {
  const r = spawnSync("/usr/bin/time", ["-f", "__MAXRSS__ %M", ...argv], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed:\n${r.stderr}`);
  const m = /__MAXRSS__ (\d+)/.exec(r.stderr);
  return { stdout: r.stdout, stderr: r.stderr, maxrss_kib: m ? Number(m[1]) : NaN };
}

// A prompt of exactly n tokens: ordinary text, tokenized by llamaprof (identical ids to llama.cpp's,
// tests/oracle/tokenizer_parity), cut to n ids with BOS first.
function promptIds(model, n) {
  const words = "the quick brown fox jumps over the lazy dog while a llama grazes near the old stone bridge and".split(" ");
  let text = "";
  for (let i = 0; text.length < n * 8; i++) text += (i ? " " : "") + words[(i * 7) % words.length];
  const ids = JSON.parse(execFileSync(cli, ["tokenize", "-m", model, "--json", text], { encoding: "utf8" }));
  if (ids.length < n) throw new Error(`the bench prompt has only ${ids.length} tokens`);
  return ids.slice(0, n);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(cli)) throw new Error(`llamaprof not built: ${cli}`);
  const results = [];
  for (const type of o.types) {
    const model = join(o.models, `${o.preset}-${type.toLowerCase()}.gguf`);
    if (!existsSync(model)) {
      execFileSync(join(root, "bench/make_7b_models.sh"), [o.models, type], { stdio: "inherit", env: { ...process.env, PRESETS: o.preset, LLAMAPROF_CLI: cli } });
    }
    const fileBytes = statSync(model).size;
    const ids = promptIds(model, o.pp);
    const promptFile = join(o.models, `.bench-prompt-${o.pp}.json`);
    writeFileSync(promptFile, JSON.stringify(ids));
    // Warm the page cache once so that every run below sees a warm load.
    execFileSync("cat", [model], { stdio: ["ignore", "ignore", "inherit"], maxBuffer: 1 });
    for (const threads of o.threads) {
      const runs = { llamaprof: [], llamacpp: [] };
      for (let rep = 0; rep < o.reps; rep++) {
        // Alternate which engine goes first, so drift in machine load hits both alike.
        const order = rep % 2 ? ["llamacpp", "llamaprof"] : ["llamaprof", "llamacpp"];
        for (const engine of order) {
          if (engine === "llamaprof") {
            const r = timed([cli, "run", "-m", model, "--prompt-ids", promptFile, "-n", String(o.tg), "--temp", "0",
                             "--repeat-penalty", "1", "--ignore-eos", "--ctx", String(o.pp + o.tg + 16), "--batch", "512",
                             "-t", String(threads), "--json"]);
            const out = JSON.parse(r.stdout);
            const j = out.timings;
            // Decode throughput: the first generated token comes from the prompt's logits, so n tokens
            // took n - 1 forward passes (llama.cpp's side below re-evaluates the last prompt token,
            // n passes for n tokens).
            runs.llamaprof.push({ load_ms: j.load_ms, pp_tps: j.prompt_tps, tg_tps: (1000 * (j.gen_tokens - 1)) / j.gen_ms, maxrss_kib: r.maxrss_kib,
                                  huge_pct: out.weights_huge_pages_pct });
          } else {
            const r = timed([process.execPath, fileURLToPath(import.meta.url), "--child", model, String(threads), String(o.pp), String(o.tg), promptFile]);
            const j = JSON.parse(r.stdout.trim().split("\n").pop());
            runs.llamacpp.push({ load_ms: j.load_ms, pp_tps: (1000 * j.pp_tokens) / j.pp_ms, tg_tps: (1000 * j.tg_tokens) / j.tg_ms, maxrss_kib: r.maxrss_kib });
          }
          const last = runs[engine][runs[engine].length - 1];
          console.log(`${type} t=${threads} rep ${rep} ${engine.padEnd(9)} pp ${last.pp_tps.toFixed(2)} t/s  tg ${last.tg_tps.toFixed(2)} t/s  load ${last.load_ms.toFixed(0)} ms  rss ${(last.maxrss_kib / 1048576).toFixed(2)} GiB` +
                      (last.huge_pct === undefined ? "" : `  weights on 2 MiB pages ${last.huge_pct.toFixed(0)}%`));
        }
      }
      const m = (e, k) => median(runs[e].map((r) => r[k]));
      const row = {
        type, threads, file_gib: fileBytes / 2 ** 30,
        llamaprof: { pp_tps: m("llamaprof", "pp_tps"), tg_tps: m("llamaprof", "tg_tps"), load_ms: m("llamaprof", "load_ms"), rss_gib: m("llamaprof", "maxrss_kib") / 2 ** 20 },
        llamacpp: { pp_tps: m("llamacpp", "pp_tps"), tg_tps: m("llamacpp", "tg_tps"), load_ms: m("llamacpp", "load_ms"), rss_gib: m("llamacpp", "maxrss_kib") / 2 ** 20 },
      };
      row.ratio = { pp: row.llamaprof.pp_tps / row.llamacpp.pp_tps, tg: row.llamaprof.tg_tps / row.llamacpp.tg_tps };
      results.push(row);
    }
  }
  console.log(`\n| type | threads | pp${o.pp} llamaprof | pp${o.pp} llama.cpp | ratio | tg${o.tg} llamaprof | tg${o.tg} llama.cpp | ratio | warm load llamaprof / llama.cpp | peak RSS llamaprof / llama.cpp (file) |`);
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(`| ${r.type} | ${r.threads} | ${r.llamaprof.pp_tps.toFixed(2)} | ${r.llamacpp.pp_tps.toFixed(2)} | ${r.ratio.pp.toFixed(2)}x | ${r.llamaprof.tg_tps.toFixed(2)} | ${r.llamacpp.tg_tps.toFixed(2)} | ${r.ratio.tg.toFixed(2)}x | ${(r.llamaprof.load_ms / 1000).toFixed(3)} s / ${(r.llamacpp.load_ms / 1000).toFixed(2)} s | ${r.llamaprof.rss_gib.toFixed(2)} / ${r.llamacpp.rss_gib.toFixed(2)} GiB (${r.file_gib.toFixed(2)}) |`);
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2));
}

if (process.argv[2] === "--child") {
  await llamaCppChild(process.argv.slice(3));
} else {
  await main();
}
