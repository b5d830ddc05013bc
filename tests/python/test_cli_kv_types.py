"""`llamaprof run/chat --cache-type-k/--cache-type-v`: the KV cache types reach the engine."""

import subprocess

from conftest import cli_path, run_cli_json


def test_run_with_each_cache_type(tiny_path):
    texts = {t: run_cli_json(tiny_path, "Hello world", "-n", "6", "--temp", "0", "--cache-type-k", t,
                             "--cache-type-v", t)["text"] for t in ("f16", "f32", "q8_0", "F32")}
    assert all(len(v) > 0 for v in texts.values())
    assert texts["f32"] == texts["F32"]  # names are case-insensitive


def test_bad_cache_type_is_a_usage_error(tiny_path):
    r = subprocess.run([str(cli_path()), "run", "-m", str(tiny_path), "-p", "hi", "--cache-type-v", "q4_0"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "cache-type-v" in r.stderr
    r = subprocess.run([str(cli_path()), "chat", "-m", str(tiny_path), "--cache-type-k", "bf16"],
                       capture_output=True, text=True, input="")
    assert r.returncode == 2 and "cache-type-k" in r.stderr
