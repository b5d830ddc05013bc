// A bounded load test of `llamaprof serve` on loopback: a few hundred requests at concurrency 1, 4
// and 8 against 4 slots, mixed prompt and output lengths, streamed and not, with malformed requests
// and clients that disconnect mid-stream. Asserts: the server never crashes; every valid request
// is answered completely and greedily identical to the same request served alone (the concurrency
// 1 pass); no slot is leaked; RSS stays flat. Prints p50/p95/p99 time to first token and
// inter-token latency as the client sees them (figures from a busy machine: not a benchmark).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensureModel, percentile, rssKiB, startServer } from "./server_util.mjs";

const model = ensureModel("tiny", "Q8_0");
const WORDS = "the of and to in is was that for it with as his on be at by had are but from or have an they which one you were her all she there would their".split(" ");
const DEADLINE_MS = 100000;  // the whole test, well under two minutes

function prompts() {
  const out = [];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const len of [1, 2, 4, 8, 16, 32, 64, 100]) {
    for (let k = 0; k < 2; ++k) out.push(Array.from({ length: len }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" "));
  }
  return out;
}
const PROMPTS = prompts();
const MAX_TOKENS = [1, 4, 16, 40];

// Request i of a pass: which prompt, how many tokens, streamed or not, or a misbehaving client.
function plan(i) {
  if (i % 11 === 5) return { kind: "malformed", variant: i % 3 };
  if (i % 13 === 7) return { kind: "disconnect", prompt: PROMPTS[i % PROMPTS.length] };
  return { kind: "valid", prompt: PROMPTS[(i * 7) % PROMPTS.length], max_tokens: MAX_TOKENS[i % MAX_TOKENS.length], stream: i % 2 === 0 };
}

async function post(url, body) {
  return fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
}

// Sends one valid request; returns its text, finish reason and (streamed) the token timings.
async function runValid(url, p) {
  const t0 = performance.now();
  const res = await post(url, JSON.stringify({ prompt: p.prompt, max_tokens: p.max_tokens, temperature: 0, stream: p.stream }));
  assert.equal(res.status, 200, await res.clone().text());
  if (!p.stream) {
    const j = await res.json();
    return { text: j.choices[0].text, finish: j.choices[0].finish_reason, tokens: j.usage.completion_tokens };
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "", text = "", finish = null, done = false, first = null, last = null;
  const itl = [];
  while (!done) {
    const r = await reader.read();
    if (r.done) break;
    buf += dec.decode(r.value, { stream: true });
    let k;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith("data: ")) continue;
      if (ev === "data: [DONE]") {
        done = true;
        continue;
      }
      const c = JSON.parse(ev.slice(6));
      const now = performance.now();
      if (c.choices[0].text) {
        if (first === null) first = now - t0;
        else itl.push(now - last);
        last = now;
      }
      text += c.choices[0].text;
      if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
    }
  }
  assert.ok(done, "the stream ended without data: [DONE]");
  return { text, finish, ttft: first, itl };
}

async function runMalformed(url, variant) {
  const bodies = ["{\"prompt\": \"x\",", JSON.stringify({ prompt: "x", max_tokens: "ten" }), JSON.stringify({ prompt: 12 })];
  const res = await post(url, bodies[variant]);
  assert.equal(res.status, 400);
  const j = await res.json();
  assert.equal(typeof j.error.message, "string");
}

async function runDisconnect(url, prompt) {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: "POST", signal: ac.signal,
    body: JSON.stringify({ prompt, max_tokens: 200, ignore_eos: true, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  ac.abort();
  await reader.read().catch(() => {});
}

// p-th percentile of a Prometheus histogram in the metrics text, as the upper bound of its bucket.
function histogramPercentile(metrics, name, p) {
  const buckets = [...metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm"))]
    .map((m) => [m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2])]);
  const total = buckets.at(-1)[1];
  const hit = buckets.find(([, c]) => c >= (p / 100) * total);
  return hit[0] === Infinity ? "> last bucket" : `<= ${hit[0] * 1000} ms`;
}

async function idleSlots(url) {
  for (let i = 0; i < 100; ++i) {  // at most 10 s: cancelled streams free their slots at the next step
    const h = await (await fetch(`${url}/health`)).json();
    if (h.slots_processing === 0) return h;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("a slot is still busy after the pass");
}

describe("load", () => {
  it("serves hundreds of mixed requests at concurrency 1, 4 and 8", { timeout: DEADLINE_MS + 20000 }, async () => {
    const start = performance.now();
    const srv = await startServer(["-m", model, "--parallel", "4", "--ctx", "256", "-t", "2", "--queue", "16"]);
    const expected = new Map();  // "prompt|max_tokens" -> text, from the concurrency 1 pass
    const stats = { ttft: [], itl: [] };
    let rssAfterWarmup = 0;
    try {
      const passes = [{ conc: 1, n: 100 }, { conc: 4, n: 150 }, { conc: 8, n: 150 }];
      for (const { conc, n } of passes) {
        let next = 0, valid = 0;
        const worker = async () => {
          while (next < n && performance.now() - start < DEADLINE_MS) {
            const p = plan(next++);
            if (p.kind === "malformed") await runMalformed(srv.url, p.variant);
            else if (p.kind === "disconnect") await runDisconnect(srv.url, p.prompt);
            else {
              const r = await runValid(srv.url, p);
              const key = `${p.prompt}|${p.max_tokens}`;
              if (conc === 1 && !expected.has(key)) expected.set(key, r.text);
              else assert.equal(r.text, expected.get(key), `concurrency ${conc}: "${p.prompt.slice(0, 40)}" x ${p.max_tokens}`);
              assert.ok(r.finish === "length" || r.finish === "stop");
              if (r.ttft !== undefined && r.ttft !== null) stats.ttft.push(r.ttft);
              if (r.itl) stats.itl.push(...r.itl);
              ++valid;
            }
          }
        };
        await Promise.all(Array.from({ length: conc }, worker));
        assert.ok(next >= n, `pass at concurrency ${conc} ran out of time after ${next} requests`);
        const h = await idleSlots(srv.url);
        assert.equal(h.status, "ok");
        const rss = rssKiB(srv.proc.pid);
        if (!rssAfterWarmup) rssAfterWarmup = rss;
        console.log(`concurrency ${conc}: ${n} requests (${valid} valid), RSS ${(rss / 1024).toFixed(1)} MiB`);
      }
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      assert.match(metrics, /^llamaprof_slots_busy 0$/m);
      assert.match(metrics, /^llamaprof_queue_length 0$/m);
      const rssEnd = rssKiB(srv.proc.pid);
      // Flat: later passes (twice the requests, more concurrency) may not grow RSS by more than a
      // few allocator arenas.
      assert.ok(rssEnd - rssAfterWarmup < 24 * 1024, `RSS grew from ${rssAfterWarmup} to ${rssEnd} KiB`);
      const ms = (v) => `${v.toFixed(1)} ms`;
      console.log(`TTFT p50/p95/p99: ${ms(percentile(stats.ttft, 50))} / ${ms(percentile(stats.ttft, 95))} / ${ms(percentile(stats.ttft, 99))} (${stats.ttft.length} streams)`);
      // Client-side gaps between SSE events (events read together count as 0 ms apart).
      console.log(`ITL  p50/p95/p99: ${ms(percentile(stats.itl, 50))} / ${ms(percentile(stats.itl, 95))} / ${ms(percentile(stats.itl, 99))} (${stats.itl.length} gaps)`);
      // The server's own histograms (bucket upper bounds), all requests of the run.
      for (const [label, name] of [["TTFT", "llamaprof_time_to_first_token_seconds"], ["ITL ", "llamaprof_inter_token_latency_seconds"]]) {
        console.log(`server ${label} p50/p95/p99: ${[50, 95, 99].map((p) => histogramPercentile(metrics, name, p)).join(" / ")}`);
      }
    } finally {
      const r = await srv.stop();
      assert.equal(r.code, 0, srv.stderr());
    }
  });
});
