"""`python3 -m llamaprof.server` (llama_cpp.server's flag names) starts `llamaprof serve`: it answers
on the given loopback port, maps the flags, refuses flags it does not have, and exits 0 on SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO, cli_path, ensure_model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env():
    e = dict(os.environ)
    e["LLAMAPROF_CLI"] = str(cli_path())
    e["PYTHONPATH"] = str(REPO / "build/python/pkg") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def test_command_maps_llama_cpp_server_flags():
    from llamaprof import server

    args = server.build_parser().parse_args(["--model", "m.gguf", "--host", "localhost", "--port", "9", "--n_ctx", "512",
                                             "--model_alias", "m", "--api_key", "k", "--n_parallel", "3"])
    cmd = server.command(args)
    assert cmd[:3] == ["serve", "-m", "m.gguf"]
    for flag, value in [("--host", "127.0.0.1"), ("--port", "9"), ("--ctx", "512"), ("--alias", "m"),
                        ("--api-key", "k"), ("--parallel", "3")]:
        assert cmd[cmd.index(flag) + 1] == value
    with pytest.raises(SystemExit):
        server.build_parser().parse_args(["--model", "m.gguf", "--n_gpu_layers", "10"])


def test_serves_and_exits_on_sigterm():
    model = ensure_model("tiny", "Q8_0")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llamaprof.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "128", "--n_threads", "1"],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = None
        for _ in range(100):  # at most ~10 s
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None, proc.stderr.read1().decode() if proc.poll() is not None else "no answer"
        assert body["data"][0]["id"] == model.name
        assert body["data"][0]["meta"]["n_ctx_slot"] == 128
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
