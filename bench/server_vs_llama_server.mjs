// Section 5 of issue 15 (docs/benchmarks.md; not a test): aggregate decode tokens/s and time to
// first token at 1, 4 and 8 concurrent streams, `llamaprof serve` against llama-server built from
// the node-llama-cpp bundle (the same tree scripts/setup builds llama-completion from), with the
// same slots, threads, context per slot, prompt and length, one engine after the other in one run.
//
//   node bench/server_vs_llama_server.mjs MODEL.gguf [--threads 2] [--tokens 128] [--repeats 3]
//                                         [--peer-model PLAIN.gguf]
//
// --peer-model: the file llama-server loads instead of MODEL (for a file only llamaprof reads, such
// as `quantize --interleave`'s, against the plain file it was made from).
//
// Run it on an idle machine only (its figures are meaningless while other work runs). It builds
// llama-server into the llama.cpp cache on first use. Loopback only.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const model = args.find((a) => a.endsWith(".gguf"));
if (!model) {
  console.error("usage: node bench/server_vs_llama_server.mjs MODEL.gguf [--threads 2] [--tokens 128] [--repeats 3]");
  process.exit(2);
}
const peerModel = opt("--peer-model", model);
const threads = Number(opt("--threads", "2"));
const tokens = Number(opt("--tokens", "128"));
const repeats = Number(opt("--repeats", "3"));
const ctxPerSlot = 512;
const slots = 8;
const concurrencies = [1, 4, 8];
const cli = process.env.LLAMAPROF_CLI ?? path.join(root, "build/tools/cli/llamaprof");
const prompt = "The history of the printing press begins in the fifteenth century, when a goldsmith in Mainz";

function llamaServer() {
  const base = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "llamaprof/llama.cpp");
  const builds = existsSync(base) ? readdirSync(base).map((c) => path.join(base, c, "build")).filter((b) => existsSync(b)) : [];
  if (!builds.length) throw new Error(`no llama.cpp build under ${base}: run scripts/setup`);
  const bin = path.join(builds[0], "bin/llama-server");
  if (!existsSync(bin)) {
    console.error(`building llama-server in ${builds[0]} ...`);
    execFileSync("cmake", ["--build", builds[0], "-j", String(os.cpus().length), "--target", "llama-server"], { stdio: "inherit" });
  }
  return bin;
}

async function waitHealthy(url, proc, timeoutMs = 120000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`${url}: server exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}: not healthy after ${timeoutMs} ms`);
}

// One streamed completion: TTFT and the time of the last token, both from the request's start.
async function stream(url) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, max_tokens: tokens, temperature: 0, ignore_eos: true, stream: true }),
  });
  const reader = res.body.getReader();
  let ttft = null, n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const text = new TextDecoder().decode(value);
    const chunks = (text.match(/"text":"/g) ?? []).length;
    if (chunks && ttft === null) ttft = performance.now() - t0;
    n += chunks;
  }
  return { ttft, end: performance.now() - t0, start: t0 };
}

async function measure(url, conc) {
  const results = [];
  for (let r = 0; r < repeats; ++r) {
    const t0 = performance.now();
    const runs = await Promise.all(Array.from({ length: conc }, () => stream(url)));
    const wall = performance.now() - t0;
    // Decode throughput: generated tokens after each stream's first over the span from the
    // earliest first token to the last stream's end.
    const firstToken = Math.min(...runs.map((x) => x.start - t0 + x.ttft));
    const decodeTps = (conc * (tokens - 1)) / ((wall - firstToken) / 1000);
    results.push({ decodeTps, ttft: runs.map((x) => x.ttft).reduce((a, b) => a + b) / conc });
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { decodeTps: median(results.map((x) => x.decodeTps)), ttft: median(results.map((x) => x.ttft)) };
}

async function run(name, cmd, argv, port) {
  const proc = spawn(cmd, argv, { stdio: ["ignore", "ignore", "ignore"] });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, proc);
    await measure(url, 1);  // warm-up: weights in the page cache, threads started
    const rows = [];
    for (const c of concurrencies) rows.push({ engine: name, streams: c, ...(await measure(url, c)) });
    return rows;
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
  }
}

const rows = [
  ...(await run("llamaprof serve", cli, ["serve", "-m", model, "--port", "18081", "--parallel", String(slots),
                                         "--ctx", String(ctxPerSlot), "-t", String(threads)], 18081)),
  ...(await run("llama-server", llamaServer(), ["-m", peerModel, "--host", "127.0.0.1", "--port", "18082", "-np", String(slots),
                                                "-c", String(ctxPerSlot * slots), "-t", String(threads), "--cont-batching"],
                18082)),
];
console.log(`model ${path.basename(model)}${peerModel !== model ? ` (llama-server: ${path.basename(peerModel)})` : ""}, ${threads} threads, ${slots} slots x ${ctxPerSlot} tokens, ${tokens} tokens per stream, median of ${repeats}`);
console.log("| engine | streams | aggregate decode t/s | mean TTFT ms |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.engine} | ${r.streams} | ${r.decodeTps.toFixed(2)} | ${r.ttft.toFixed(0)} |`);
for (const c of concurrencies) {
  const a = rows.find((r) => r.engine === "llamaprof serve" && r.streams === c);
  const b = rows.find((r) => r.engine === "llama-server" && r.streams === c);
  console.log(`${c} streams: llamaprof / llama-server decode ${(a.decodeTps / b.decodeTps).toFixed(2)}x`);
}
const one = rows.find((r) => r.engine === "llamaprof serve" && r.streams === 1);
const four = rows.find((r) => r.engine === "llamaprof serve" && r.streams === 4);
console.log(`llamaprof 4 streams / 1 stream aggregate decode: ${(four.decodeTps / one.decodeTps).toFixed(2)}x (target >= 3x)`);
