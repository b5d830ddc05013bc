"""`llamaprof profile` with both front ends: the matrix yields every run with every field, the C++
and Python workers do the same work (same seed, same text), and the Python worker's errors name
the problem."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_path, ensure_model

FIELDS = ["run", "model_num", "iter", "front_end", "n_threads", "max_tokens", "model_fn", "output", "time_load",
          "time_prompt", "time_infer", "time_script", "prompt_tokens", "comp_tokens", "prompt_tps", "gen_tps",
          "cpu_user_s", "cpu_sys_s", "cpu_util_pct", "peak_rss_mb", "residency_pct", "cache", "cache_state",
          "bytes_per_token", "gen_gbps", "bw_limit_gbps", "pct_bw_limit", "trace_file", "threads", "cpu",
          "decode_evals", "decode_ms"]


def python_pkg_dir() -> Path:
    return cli_path().parents[2] / "python" / "pkg"


def test_matrix_with_both_front_ends(tmp_path):
    if not (python_pkg_dir() / "llamaprof").exists():
        pytest.skip(f"Python module not built under {python_pkg_dir()}")
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "prof"
    r = subprocess.run([str(cli_path()), "profile", str(model), "--iterations", "2", "--threads", "1,2",
                        "--front-ends", "cli,python", "--cache", "warm", "--max-tokens", "8", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "== Front-end gap: python / cli" in r.stdout
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 2 * 2 * 2  # iterations x threads x front ends
    for run in runs:
        missing = [f for f in FIELDS if f not in run]
        assert not missing, f"run {run.get('run')} ({run.get('front_end')}) lacks {missing}"
        assert set(run["cpu"]) >= {"load", "prompt", "gen"}
        assert set(run["threads"]) >= {"busy", "spin", "sleep"}
        assert run["residency_pct"] > 95  # --cache warm
        trace = (out / run["trace_file"]).read_text().splitlines()
        assert len(trace) == run["comp_tokens"]
        # Both workers ignore end of generation, so every run generates the full length.
        assert run["ignore_eos"] is True and run["comp_tokens"] == run["max_tokens"]
        step = json.loads(trace[0])
        assert set(step) >= {"index", "id", "text", "latency_ms", "candidates"}
    assert {r["front_end"] for r in runs} == {"cli", "python"}
    # Same model, seed and sampler in both front ends: the same text, token by token.
    by_key = {}
    for run in runs:
        by_key.setdefault((run["n_threads"], run["iter"]), {})[run["front_end"]] = run
    for pair in by_key.values():
        assert pair["cli"]["output"] == pair["python"]["output"]
        assert pair["cli"]["comp_tokens"] == pair["python"]["comp_tokens"]
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(runs)
    assert "threads.busy" in rows[0] and "cpu.gen.util" in rows[0]


def test_python_worker_names_a_missing_model(tmp_path):
    if not (python_pkg_dir() / "llamaprof").exists():
        pytest.skip(f"Python module not built under {python_pkg_dir()}")
    missing = tmp_path / "nope.gguf"
    env = dict(os.environ, PYTHONPATH=str(python_pkg_dir()))
    r = subprocess.run([sys.executable, "-m", "llamaprof.profile_worker", "--model", str(missing), "-p", "hi"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1
    assert str(missing) in r.stderr
    assert r.stdout == ""


def test_python_front_end_requested_but_unavailable(tmp_path):
    model = ensure_model("tiny", "Q4_0")
    r = subprocess.run([str(cli_path()), "profile", str(model), "--front-ends", "python", "--python",
                        "/nonexistent/python3", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "llamaprof-python engine is unavailable" in r.stderr
