"""`llamaprof embed`: the same vectors as Llama.embed (one engine), its output forms and errors."""

import json
import subprocess

import numpy as np

from conftest import cli_path

TEXT = "The sea and the ships"


def embed(model, *args, input=None):
    return subprocess.run([str(cli_path()), "embed", "-m", str(model), *args], capture_output=True, text=True,
                          input=input)


def test_json_matches_python_and_poolings(tiny_path):
    from llamaprof import LLAMA_POOLING_TYPE_NONE, Llama

    rows = np.array(Llama(model_path=str(tiny_path), embedding=True, n_ctx=64, verbose=False,
                          pooling_type=LLAMA_POOLING_TYPE_NONE).embed(TEXT))
    for pooling, expect in (("mean", rows.mean(axis=0)), ("cls", rows[0]), ("last", rows[-1])):
        r = embed(tiny_path, "-p", TEXT, "--pooling", pooling, "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["pooling"] == pooling and out["n_tokens"] == len(rows) and out["normalized"] is False
        assert np.allclose(out["embedding"], expect, atol=1e-4)
    out = json.loads(embed(tiny_path, "-p", TEXT, "--pooling", "none", "--json").stdout)
    assert np.array(out["embedding"]).shape == rows.shape
    out = json.loads(embed(tiny_path, "-p", TEXT, "--pooling", "mean", "--normalize", "--json").stdout)
    assert np.isclose(np.linalg.norm(out["embedding"]), 1.0, atol=1e-5)


def test_plain_output_stdin_and_file(tiny_path, tmp_path):
    r = embed(tiny_path, "--pooling", "mean", input=TEXT)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and len(lines) == 1 and len(lines[0].split()) == 256
    f = tmp_path / "t.txt"
    f.write_text(TEXT)
    assert embed(tiny_path, "-f", str(f), "--pooling", "mean").stdout == r.stdout
    r = embed(tiny_path, "-p", TEXT, "--pooling", "none")
    assert len(r.stdout.strip().splitlines()) == 6  # BOS + 5 tokens, one row each


def test_errors(tiny_path, tmp_path):
    r = embed(tiny_path, "-p", TEXT, "--pooling", "rank")
    assert r.returncode != 0 and "rank" in r.stderr
    r = embed(tiny_path, "-p", "word " * 40, "--ctx", "8")
    assert r.returncode == 2 and "context" in r.stderr  # a bad argument: exit 2, as every command
    r = embed(tmp_path / "missing.gguf", "-p", TEXT)
    assert r.returncode == 1 and "missing.gguf" in r.stderr
