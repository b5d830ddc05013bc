"""`llamaprof profile --engines`: llama.cpp's llama-completion (the real one scripts/setup builds;
skipped when absent), llama-cpp-python (its worker run against llamaprof.Llama standing in as the
module `llama_cpp`, since llama-cpp-python cannot be installed here), an OpenAI-compatible server
(a loopback stub), and what happens when an engine is missing, crashes, hangs or prints something
unexpected: the run is recorded as failed with the reason and the matrix goes on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_path, ensure_model

STUB = REPO / "tests/python/scripts/openai_stub_server.py"


def pkg_dir() -> Path:
    return cli_path().parents[2] / "python" / "pkg"


def profile(out, *args, env=None, timeout=300):
    return subprocess.run([str(cli_path()), "profile", "--out", str(out), *args], capture_output=True, text=True,
                          errors="replace",  # model output can hold partial UTF-8 sequences
                          env=env, timeout=timeout)


def runs_of(out):
    return [json.loads(line) for line in (Path(out) / "runs.jsonl").read_text().splitlines()]


def llama_cpp_dir():
    """llama-completion from --llama-cpp's search: PATH, then scripts/setup's cache."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llamaprof" / "llama.cpp"
    for d in sorted(cache.glob("*/build/bin")):
        if (d / "llama-completion").exists() and (d.parents[1] / "build-seconds").exists():
            return d
    pytest.skip("llama.cpp's llama-completion is not built (scripts/setup builds it)")


def fake_llama_cpp(tmp_path, body):
    """A directory with a `llama-completion` shell script: an engine that misbehaves."""
    d = tmp_path / "fake-llama"
    d.mkdir()
    exe = d / "llama-completion"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    return d


@pytest.fixture()
def shim(tmp_path):
    """A `llama_cpp` module that is llamaprof.Llama (llama-cpp-python's API) under llama-cpp-python's name."""
    if not (pkg_dir() / "llamaprof").exists():
        pytest.skip(f"Python module not built under {pkg_dir()}")
    d = tmp_path / "shim" / "llama_cpp"
    d.mkdir(parents=True)
    (d / "__init__.py").write_text("from llamaprof import Llama  # noqa: F401\n__version__ = 'llamaprof-shim'\n")
    return dict(os.environ, PYTHONPATH=f"{d.parent}:{pkg_dir()}")


def test_real_llama_cpp_side_by_side_with_llamaprof(tmp_path):
    bindir = llama_cpp_dir()
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", "llamaprof,llama.cpp", "--llama-cpp", str(bindir), "--threads", "1",
                "--cache", "cold,warm", "--iterations", "2", "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    runs = runs_of(out)
    assert len(runs) == 2 * 2 * 2
    cpp = [x for x in runs if x["engine"] == "llama.cpp"]
    for x in cpp:
        assert x["status"] == "ok"
        assert x["comp_tokens"] == 8 and x["ignore_eos"] is True  # --ignore-eos: the full length
        assert x["time_load"] > 0 and x["time_infer"] > 0 and x["llama_cpp"]["prompt_tokens"] > 0
        assert "AVX2" in x["build_features"] or x["build_features"]  # its system_info line, parsed
        assert isinstance(x["build_missing_features"], list)
        assert x["os_threads"] and x["os_threads"][0]["cpu_s"] >= 0  # per-thread CPU from /proc
        assert set(x["cpu"]) >= {"load", "infer"} and x["cpu"]["infer"]["source"] == "/proc samples"
        assert x["peak_rss_mb"] > 0 and "noise" in x and x["host"]
        assert x["output"]
    assert {x["cache_state"] for x in cpp} >= {"warm"}
    summary = json.loads((out / "summary.json").read_text())
    kinds = {f["kind"] for f in summary["findings"]}
    assert {"engine_speed", "build_features"} <= kinds, kinds
    assert any(r["engine"] == "llama.cpp" for r in summary["engine_ratios"])
    assert "== Findings ==" in r.stdout and "== Engines:" in r.stdout


def test_llama_cpp_python_worker_through_a_stand_in(tmp_path, shim):
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", "llamaprof,llama-cpp-python", "--python", sys.executable, "--threads",
                "1", "--cache", "warm", "--iterations", "1", "--max-tokens", "6", env=shim)
    assert r.returncode == 0, r.stderr
    runs = {x["engine"]: x for x in runs_of(out)}
    x = runs["llama-cpp-python"]
    assert x["status"] == "ok", x
    assert x["library_version"] == "llamaprof-shim"
    assert x["comp_tokens"] > 0 and x["time_load"] > 0 and x["time_infer"] > 0
    assert x["top_candidates_returned"] == x["comp_tokens"]
    trace = (out / x["trace_file"]).read_text().splitlines()
    assert len(trace) == x["comp_tokens"]
    assert len(json.loads(trace[0])["candidates"]) == 10  # logprobs=10: the top 10 per token
    assert any("per-token latencies" in m for m in x["missing"])  # said, not hidden
    assert x["os_threads"]


def test_llama_cpp_python_not_installed(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    env = dict(os.environ, PYTHONPATH="")
    r = profile(tmp_path, str(model), "--engines", "llama-cpp-python", "--python", sys.executable, env=env,
                timeout=60)
    assert r.returncode == 2
    assert "cannot import llama_cpp" in r.stderr


def test_a_lost_llama_cpp_log_is_run_once_more(tmp_path):
    """llama.cpp's asynchronous logger can drop its perf lines at exit on a loaded machine: the run
    is repeated once and its record says why; a second loss is a failure."""
    real = llama_cpp_dir() / "llama-completion"
    model = ensure_model("tiny", "Q4_0")
    flag = tmp_path / "ran-once"
    fake = fake_llama_cpp(tmp_path, f'if [ ! -e "{flag}" ]; then touch "{flag}"; echo "generate: n_ctx = 2048" >&2; '
                                    f'exit 0; fi\nexec "{real}" "$@"')
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", "llama.cpp", "--llama-cpp", str(fake), "--threads", "1",
                "--cache", "warm", "--iterations", "1", "--max-tokens", "4")
    assert r.returncode == 0, r.stderr
    (run,) = runs_of(out)
    assert run["status"] == "ok" and "printed no load_ms perf line" in run["retried_after"]


def test_llama_cpp_not_found(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    r = profile(tmp_path, str(model), "--engines", "llama.cpp", "--llama-cpp", str(tmp_path / "nowhere"), timeout=60)
    assert r.returncode == 2
    assert "no executable llama-completion in" in r.stderr


@pytest.mark.parametrize("body,reason", [
    ("kill -SEGV $$", "signal 11"),
    ("echo 'not what llama.cpp prints'", "printed no load_ms perf line (an unexpected output format"),
    ("echo broken >&2; exit 7", "exit code 7: broken"),
    ("exec sleep 60", "timed out after 2 s"),
    ("sleep 60 & echo 'left a child holding stdout'", "printed no load_ms perf line"),
])
def test_misbehaving_engine_is_recorded_and_the_matrix_goes_on(tmp_path, body, reason):
    model = ensure_model("tiny", "Q4_0")
    fake = fake_llama_cpp(tmp_path, body)
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", "llama.cpp,llamaprof", "--llama-cpp", str(fake), "--threads", "1",
                "--cache", "warm", "--iterations", "1", "--max-tokens", "4", "--timeout", "2", timeout=120)
    assert r.returncode == 3, r.stderr  # finished, with failed runs
    runs = {x["engine"]: x for x in runs_of(out)}
    assert runs["llama.cpp"]["status"] == "failed"
    assert reason in runs["llama.cpp"]["failure"]
    # Only a lost report is tried again.
    assert ("retried_after" in runs["llama.cpp"]) == ("perf line" in reason)
    assert runs["llamaprof"]["status"] == "ok"  # the matrix went on
    assert "== Failed runs ==" in r.stdout and "1 of 2 runs FAILED" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_failed"] == 1 and summary["findings"][0]["kind"] == "failures"


@pytest.fixture()
def stub_server(request):
    mode = getattr(request, "param", "ok")
    p = subprocess.Popen([sys.executable, str(STUB), "--mode", mode, "--lifetime", "120"], stdout=subprocess.PIPE,
                         text=True)
    try:
        port = int(p.stdout.readline())
        yield port, p.pid
    finally:
        p.kill()
        p.wait(timeout=10)


def test_openai_compatible_server_streams(tmp_path, stub_server):
    port, pid = stub_server
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "p"
    url = f"http://127.0.0.1:{port}/v1"
    r = profile(out, str(model), "--engines", f"llamaprof,{url}", "--server-pid", str(pid), "--threads", "1",
                "--cache", "warm", "--iterations", "2", "--max-tokens", "12", timeout=120)
    assert r.returncode == 0, r.stderr
    http = [x for x in runs_of(out) if x["engine"] == url]
    assert len(http) == 2
    for x in http:
        assert x["status"] == "ok", x
        assert x["comp_tokens"] == 12 and x["output"].startswith(" w0 w1")
        assert 0 < x["time_to_first_token"] <= x["time_infer"]
        assert x["inter_token_ms"]["n"] == 11 and x["inter_token_ms"]["p90"] >= x["inter_token_ms"]["median"] > 0
        assert "threads" in x["server"] and x["server"]["peak_rss_mb"] > 0
        step = json.loads((out / x["trace_file"]).read_text().splitlines()[0])
        assert len(step["candidates"]) == 10 and step["latency_ms"] > 0
    summary = json.loads((out / "summary.json").read_text())
    (lat,) = [f for f in summary["findings"] if f["kind"] == "http_latency"]
    assert "first token after" in lat["text"] and "the server used" in lat["text"]


@pytest.mark.parametrize("stub_server,reason", [("bad-json", "not a completion chunk"), ("http-500", "HTTP 500")],
                         indirect=["stub_server"])
def test_openai_server_errors_are_recorded(tmp_path, stub_server, reason):
    port, _ = stub_server
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", f"http://127.0.0.1:{port}/v1", "--threads", "1", "--cache", "warm",
                "--iterations", "1", "--max-tokens", "4", timeout=120)
    assert r.returncode == 3, r.stderr
    (x,) = runs_of(out)
    assert x["status"] == "failed" and reason in x["failure"]


def test_shards_cover_the_matrix_and_reports_merge_machines(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    outs = []
    for k in (1, 2):
        out = tmp_path / f"shard{k}"
        r = profile(out, str(model), "--engines", "llamaprof", "--threads", "1,2", "--cache", "warm", "--iterations",
                    "2", "--max-tokens", "4", "--shard", f"{k}/2")
        assert r.returncode == 0, r.stderr
        outs.append(out)
    a, b = runs_of(outs[0]), runs_of(outs[1])
    assert {x["n_threads"] for x in a} == {1} and {x["n_threads"] for x in b} == {2}
    assert all(x["host"] and x["cpu_model"] for x in a + b)
    # The same runs as if from another machine: the merged report compares the two hosts.
    other = tmp_path / "other"
    other.mkdir()
    (other / "runs.jsonl").write_text("".join(json.dumps(dict(x, host="machine-b")) + "\n" for x in a))
    html = tmp_path / "merged.html"
    r = subprocess.run([str(cli_path()), "report", str(outs[0] / "runs.jsonl"), str(other / "runs.jsonl"), "-o",
                        str(html)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and "plotting library not found" in r.stderr:
        pytest.skip("report assets not installed")
    assert r.returncode == 0, r.stderr
    assert "machine-b" in html.read_text()
    r = profile(tmp_path / "bad", str(model), "--shard", "3/2", timeout=60)
    assert r.returncode == 2 and "--shard" in r.stderr


def test_until_stable_repeats_up_to_the_cap_and_records_noise(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "p"
    r = profile(out, str(model), "--engines", "llamaprof", "--threads", "1", "--cache", "warm", "--iterations", "2",
                "--until-stable", "--max-iterations", "4", "--max-tokens", "4")
    assert r.returncode == 0, r.stderr
    runs = runs_of(out)
    assert 2 <= len(runs) <= 4
    # A cell that never got its CI within 2% ran to the cap, and the note says so.
    if "did not reach a 95% CI" in r.stderr:
        assert len(runs) == 4
    for x in runs:
        assert set(x["noise"]) >= {"loadavg1_before", "steal_pct", "others_cpu_s", "disturbed"}
        assert isinstance(x["disturbed"], bool)
    assert "noise:" in r.stdout and "ENGINE:" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    g = summary["groups"][0]
    assert g["time_infer"]["ci_lo"] <= g["time_infer"]["median"] <= g["time_infer"]["ci_hi"]
    r = profile(tmp_path / "bad", str(model), "--until-stable", "--iterations", "5", "--max-iterations", "3",
                timeout=60)
    assert r.returncode == 2 and "--max-iterations" in r.stderr


def test_flags_for_absent_engines_are_not_silently_ignored(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    r = profile(tmp_path / "p", str(model), "--engines", "llamaprof", "--llama-cpp", str(tmp_path), "--server-pid",
                "1", "--threads", "1", "--cache", "warm", "--iterations", "1", "--max-tokens", "2")
    assert r.returncode == 0, r.stderr
    assert "--llama-cpp is ignored" in r.stderr and "--server-pid is ignored" in r.stderr


def test_real_llama_cpp_on_the_demo_models(tmp_path):
    """No model given: the demo models (made on first use), llamaprof and llama.cpp side by side."""
    bindir = llama_cpp_dir()
    out = tmp_path / "demo"
    r = profile(out, "--engines", "llamaprof,llama.cpp", "--llama-cpp", str(bindir), "--threads", "1", "--cache",
                "warm", "--iterations", "1", "--max-tokens", "4", timeout=600)
    assert r.returncode in (0, 3), r.stderr
    runs = runs_of(out)
    models = {x["model_name"] for x in runs}
    assert len(models) == 4 and any("mistral" in m for m in models)
    ok = [x for x in runs if x["engine"] == "llama.cpp" and x["status"] == "ok"]
    # Once, under heavy load, 2 of 48 llama-completion runs exited 0 without their perf lines (recorded
    # as failed, as they should be); not reproduced since, so one such run is tolerated here.
    assert len(ok) >= 3, [x.get("failure") for x in runs if x["status"] != "ok"]
    assert all(x["comp_tokens"] == 4 for x in ok)
