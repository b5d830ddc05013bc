// Shared by the server tests: the CLI, test models written by `make-model` (cached in
// build/test-models like the Python tests' models), and a `llamaprof serve` child on a free
// loopback port (--port 0; the port is read from its first line of output).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const cli = process.env.LLAMAPROF_CLI ?? path.join(repo, "build/tools/cli/llamaprof");

// The pinned official client (tools/openai-client, installed by scripts/setup with npm ci).
const require = createRequire(path.join(repo, "tools/openai-client/package.json"));
export const OpenAI = (await import(require.resolve("openai"))).default;

export function ensureModel(preset = "tiny", type = "Q8_0", seed = 0) {
  const dir = process.env.LLAMAPROF_TEST_MODELS ?? path.join(repo, "build/test-models");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${preset}-${type}-s${seed}.gguf`);
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(cli).mtimeMs) {
    execFileSync(cli, ["make-model", "--preset", preset, "--type", type, "--seed", String(seed), "-o", file]);
  }
  return file;
}

// Starts the server; resolves once it listens. Returns {url, port, proc, stderr(), stop()}.
export async function startServer(args, { timeoutMs = 30000, env = {} } = {}) {
  const proc = spawn(cli, ["serve", "--host", "127.0.0.1", "--port", "0", ...args],
                     { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "", err = "";
  proc.stderr.on("data", (d) => (err += d));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    exited,
    stderr: () => err,
    // SIGTERM, then the exit status (SIGKILL after timeoutMs so that a test never hangs).
    async stop(timeoutMs = 20000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

// Resident set size of a process in KiB (Linux /proc).
export function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : 0;
}

// Reads an SSE stream of a fetch response into its data payloads.
export async function readSse(res) {
  const text = await res.text();
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
