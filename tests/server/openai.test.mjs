// `llamaprof serve` driven by the official OpenAI client (npm `openai`, pinned in
// tools/openai-client): models, completions and chat (whole and streamed), logprobs, stop strings,
// errors in OpenAI's shape, the API key, body and queue limits, /metrics through promtool, and a
// SIGTERM in the middle of a stream. Loopback only; every wait is bounded.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { OpenAI, cli, ensureModel, readSse, startServer } from "./server_util.mjs";

const model = ensureModel("tiny", "Q8_0");
const alias = "tiny-test";

function runCli(prompt, n) {
  const out = execFileSync(cli, ["run", "-m", model, "-p", prompt, "-n", String(n), "--temp", "0", "--json", "-t", "1"]);
  return JSON.parse(out).text;
}

describe("llamaprof serve with the openai client", () => {
  let srv, client;
  before(async () => {
    srv = await startServer(["-m", model, "--alias", alias, "--parallel", "2", "--ctx", "256", "-t", "1",
                             "--chat-template", "chatml", "--temp", "0"]);
    client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 30000 });
  });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0, srv.stderr());
  });

  it("lists the model", async () => {
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id), [alias]);
  });

  it("completes greedily like `llamaprof run`", async () => {
    const prompt = "The quick brown fox";
    const r = await client.completions.create({ model: alias, prompt, max_tokens: 12, temperature: 0 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0].text, runCli(prompt, 12));
    assert.equal(r.usage.completion_tokens, 12);
    assert.equal(r.choices[0].finish_reason, "length");
    // Streamed: the same text in pieces, one final chunk with the finish reason, then [DONE].
    const stream = await client.completions.create({ model: alias, prompt, max_tokens: 12, temperature: 0, stream: true });
    let text = "", finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    }
    assert.equal(text, r.choices[0].text);
    assert.equal(finish, "length");
  });

  it("chats, streamed and whole, with usage", async () => {
    const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }];
    const r = await client.chat.completions.create({ model: alias, messages, max_tokens: 10, temperature: 0 });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0].message.role, "assistant");
    const stream = await client.chat.completions.create({
      model: alias, messages, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = "", role = null, usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const d = chunk.choices[0]?.delta;
      if (d?.role) role = d.role;
      text += d?.content ?? "";
    }
    assert.equal(role, "assistant");
    assert.equal(text, r.choices[0].message.content);
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [r.usage.prompt_tokens, r.usage.completion_tokens]);
  });

  it("returns logprobs", async () => {
    const c = await client.completions.create({ model: alias, prompt: "Once upon", max_tokens: 5, temperature: 0, logprobs: 3 });
    const lp = c.choices[0].logprobs;
    assert.equal(lp.tokens.length, 5);
    assert.equal(lp.token_logprobs.length, 5);
    for (let i = 0; i < 5; ++i) {
      assert.ok(lp.token_logprobs[i] <= 0);
      assert.equal(Object.keys(lp.top_logprobs[i]).length, 3);
      // Greedy: the chosen token is the most likely one.
      assert.ok(Math.max(...Object.values(lp.top_logprobs[i])) <= lp.token_logprobs[i] + 1e-5);
    }
    // Streamed: the same tokens, logprobs and text offsets, a chunk at a time.
    const stream = await client.completions.create({ model: alias, prompt: "Once upon", max_tokens: 5, temperature: 0, logprobs: 3, stream: true });
    const streamed = { tokens: [], token_logprobs: [], text_offset: [] };
    for await (const chunk of stream) {
      const l = chunk.choices[0]?.logprobs;
      if (l) for (const k of Object.keys(streamed)) streamed[k].push(...l[k]);
    }
    for (const k of Object.keys(streamed)) assert.deepEqual(streamed[k], lp[k], k);
    const h = await client.chat.completions.create({
      model: alias, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 2,
    });
    assert.equal(h.choices[0].logprobs.content.length, h.usage.completion_tokens);
    for (const t of h.choices[0].logprobs.content) assert.equal(t.top_logprobs.length, 2);
  });

  it("cuts at a stop string", async () => {
    const prompt = "It was a dark and stormy";
    const full = (await client.completions.create({ model: alias, prompt, max_tokens: 16, temperature: 0 })).choices[0].text;
    const stop = full.slice(3, 5);
    const cut = await client.completions.create({ model: alias, prompt, max_tokens: 16, temperature: 0, stop: [stop] });
    assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, "stop");
  });

  it("constrains output with response_format and a GBNF grammar, as `llamaprof run` does", async () => {
    // A random-weight model writes whatever the grammar lets through: the output must parse, and
    // the schema's required keys and types must be there.
    const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } },
                     required: ["name", "age"] };
    const messages = [{ role: "user", content: "A person as JSON" }];
    for (const stream of [false, true]) {
      const req = { model: alias, messages, max_tokens: 200, temperature: 0,
                    response_format: { type: "json_schema", json_schema: { name: "person", schema } } };
      let text = "", finish = null;
      if (stream) {
        for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
          text += chunk.choices[0]?.delta?.content ?? "";
          if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
        }
      } else {
        const r = await client.chat.completions.create(req);
        text = r.choices[0].message.content;
        finish = r.choices[0].finish_reason;
      }
      if (finish === "stop") {
        const obj = JSON.parse(text);
        assert.equal(typeof obj.name, "string", text);
        assert.ok(Number.isInteger(obj.age), text);
      } else {
        assert.equal(finish, "length", text);  // cut by max_tokens: a prefix of such an object
        assert.match(text, /^\{\s*"name"/, text);
      }
    }
    const g = await client.completions.create({ model: alias, prompt: "Say yes or no:", max_tokens: 8, temperature: 0,
                                                grammar: 'root ::= ("yes" | "no") "."' });
    assert.match(g.choices[0].text, /^(yes|no)\.$/);
    assert.equal(g.choices[0].finish_reason, "stop");
    const viaCli = execFileSync(cli, ["run", "-m", model, "-p", "Say yes or no:", "-n", "8", "--temp", "0", "--json",
                                      "-t", "1", "--grammar", 'root ::= ("yes" | "no") "."']);
    assert.equal(g.choices[0].text, JSON.parse(viaCli).text);
  });

  it("embeds like `llamaprof embed` (mean pooling, normalized), as floats and as base64", async () => {
    const one = (text) => JSON.parse(execFileSync(cli, ["embed", "-m", model, "-p", text, "--pooling", "mean",
                                                       "--normalize", "--json", "-t", "1"])).embedding;
    // The openai client asks for base64 and decodes it; the raw request below asks for floats.
    const r = await client.embeddings.create({ model: alias, input: ["hello world", "goodbye"] });
    assert.equal(r.object, "list");
    assert.deepEqual(r.data.map((d) => d.index), [0, 1]);
    for (const [i, text] of ["hello world", "goodbye"].entries()) {
      const want = one(text);
      assert.equal(r.data[i].embedding.length, want.length);
      r.data[i].embedding.forEach((x, k) => assert.ok(Math.abs(x - want[k]) < 1e-5, `${text} [${k}]: ${x} vs ${want[k]}`));
    }
    assert.ok(r.usage.prompt_tokens > 2);
    const raw = await fetch(`${srv.url}/v1/embeddings`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                         body: JSON.stringify({ input: "goodbye", encoding_format: "float" }) });
    const body = await raw.json();
    assert.equal(raw.status, 200, JSON.stringify(body));
    body.data[0].embedding.forEach((x, k) => assert.ok(Math.abs(x - r.data[1].embedding[k]) < 1e-6));
    await assert.rejects(client.embeddings.create({ model: alias, input: [] }), (e) => e.status === 400 && e.param === "input");
    await assert.rejects(client.embeddings.create({ model: alias, input: "x", dimensions: 3 }),
                         (e) => e.status === 400 && e.param === "dimensions");
  });

  it("answers bad requests with OpenAI's error shape naming the field", async () => {
    const cases = [
      [{ model: alias, prompt: "x", temperature: "hot" }, 400, "temperature"],
      [{ model: alias, prompt: "x", max_tokens: -1 }, 400, "max_tokens"],
      [{ model: alias, prompt: "x", n: 2 }, 400, "n"],
      [{ model: "gpt-4", prompt: "x" }, 404, "model"],
      [{ model: alias, prompt: "x", response_format: { type: "xml" } }, 400, "response_format"],
      [{ model: alias, prompt: "x", grammar: "root ::= nowhere" }, 400, "grammar"],
      [{ model: alias, prompt: "word ".repeat(300) }, 400, "prompt"],
    ];
    for (const [body, status, param] of cases) {
      await assert.rejects(client.completions.create(body), (e) => {
        assert.equal(e.status, status, JSON.stringify(body));
        assert.equal(e.param, param);
        assert.equal(typeof e.error.message, "string");
        assert.equal(typeof e.error.type, "string");
        return true;
      });
    }
    // Malformed JSON, a wrong content type of body, an unknown route: raw HTTP.
    const bad = await fetch(`${srv.url}/v1/completions`, { method: "POST", body: "{\"prompt\": ", headers: { "content-type": "application/json" } });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "invalid_json");
    const none = await fetch(`${srv.url}/v2/nothing`);
    assert.equal(none.status, 404);
    assert.ok((await none.json()).error.message.includes("/v2/nothing"));
  });

  it("tokenizes and detokenizes", async () => {
    const t = await (await fetch(`${srv.url}/tokenize`, { method: "POST", body: JSON.stringify({ content: "Hello world" }) })).json();
    assert.ok(t.tokens.length > 0);
    const d = await (await fetch(`${srv.url}/detokenize`, { method: "POST", body: JSON.stringify({ tokens: t.tokens }) })).json();
    assert.equal(d.content, "Hello world");
  });

  it("serves /metrics that promtool accepts", async () => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(text, /llamaprof_time_to_first_token_seconds_count [1-9]/);
    assert.match(text, /llamaprof_thread_seconds_total\{thread="0",state="busy"\}/);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.error, undefined, "promtool not installed (scripts/setup installs Debian's prometheus)");
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe("limits and security", () => {
  it("requires the API key on every endpoint but /health, and limits the body", async () => {
    const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), "lp-serve-")), "key");
    writeFileSync(keyFile, "s3cret\n");
    const srv = await startServer(["-m", model, "--api-key-file", keyFile, "--max-body", "2000", "-t", "1", "--ctx", "128"]);
    try {
      assert.equal((await fetch(`${srv.url}/health`)).status, 200);
      for (const p of ["/metrics", "/v1/models"]) {
        const r = await fetch(`${srv.url}${p}`);
        assert.equal(r.status, 401, p);
        assert.equal((await r.json()).error.type, "authentication_error");
      }
      const wrong = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "s3cres", maxRetries: 0 });
      await assert.rejects(wrong.models.list(), (e) => e.status === 401);
      const right = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "s3cret", maxRetries: 0 });
      const c = await right.completions.create({ model: "x", prompt: "Hi", max_tokens: 2 }).catch((e) => e);
      assert.equal(c.status, 404);  // past the key check: the model name is wrong
      const big = await fetch(`${srv.url}/v1/completions`, {
        method: "POST", headers: { authorization: "Bearer s3cret" }, body: JSON.stringify({ prompt: "x".repeat(5000) }),
      });
      assert.equal(big.status, 413);
      assert.equal((await big.json()).error.code, "request_too_large");
      // No CORS headers unless asked for.
      assert.equal((await fetch(`${srv.url}/health`)).headers.get("access-control-allow-origin"), null);
    } finally {
      assert.equal((await srv.stop()).code, 0);
    }
  });

  it("answers CORS only for --cors-origin, reports % of the bandwidth limit, and on SIGTERM finishes an open stream with its final events and exits 0", async () => {
    // A bandwidth figure for this CPU and 1 thread in a private cache, as `llamaprof membw` writes it.
    const cache = mkdtempSync(path.join(os.tmpdir(), "lp-serve-cache-"));
    const cpu = JSON.parse(execFileSync(cli, ["info", "--system", "--json"])).cpu.model;
    mkdirSync(path.join(cache, "llamaprof"));
    writeFileSync(path.join(cache, "llamaprof/membw.json"),
                  JSON.stringify({ version: 1, entries: [{ cpu, threads: 1, gbps_best: 10, gbps_median: 9 }] }));
    const srv = await startServer(["-m", model, "-t", "1", "--ctx", "2048", "--shutdown-grace", "0.2",
                                   "--cors-origin", "http://app.localhost"], { env: { XDG_CACHE_HOME: cache } });
    // CORS only as asked for: the named origin, and preflight requests answered.
    assert.equal((await fetch(`${srv.url}/health`)).headers.get("access-control-allow-origin"), "http://app.localhost");
    assert.equal((await fetch(`${srv.url}/v1/completions`, { method: "OPTIONS" })).status, 204);
    const res = await fetch(`${srv.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "Tell me", max_tokens: 2000, ignore_eos: true, stream: true }),
    });
    const reader = res.body.getReader();
    await reader.read();  // generation is under way
    for (let i = 0; i < 20; ++i) await reader.read();
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^llamaprof_memory_bandwidth_limit_bytes_per_second 1e\+10$/m);
    const ratio = Number(metrics.match(/^llamaprof_decode_bandwidth_limit_ratio (\S+)$/m)[1]);
    assert.ok(ratio > 0 && Number.isFinite(ratio), metrics);
    const check = spawnSync("promtool", ["check", "metrics"], { input: metrics, encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    srv.proc.kill("SIGTERM");
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"finish_reason":"cancelled"/);
    assert.ok(rest.endsWith("data: [DONE]\n\n"), rest.slice(-200));
    const r = await srv.exited;
    assert.equal(r.code, 0, srv.stderr());
  });
});
