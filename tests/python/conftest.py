"""Shared fixtures: the CLI, and models that `llamaprof make-model` writes into build/test-models/
(the cache the oracle tests share; $LLAMAPROF_TEST_MODELS overrides it), regenerated when missing
or older than the CLI."""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli_path() -> Path:
    return Path(os.environ.get("LLAMAPROF_CLI", REPO / "build/tools/cli/llamaprof"))


def ensure_model(preset: str, type_: str, seed: int = 0) -> Path:
    cli = cli_path()
    if not cli.exists():
        pytest.skip(f"llamaprof CLI not built at {cli} (run scripts/setup or set LLAMAPROF_CLI)")
    cache = Path(os.environ.get("LLAMAPROF_TEST_MODELS", REPO / "build/test-models"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{preset}-{type_}-s{seed}.gguf"
    if not path.exists() or path.stat().st_mtime < cli.stat().st_mtime:
        subprocess.run([str(cli), "make-model", "--preset", preset, "--type", type_, "--seed", str(seed), "-o",
                        str(path)], check=True, capture_output=True)
    return path


def run_cli_json(model: Path, prompt: str, *args: str) -> dict:
    out = subprocess.run([str(cli_path()), "run", "-m", str(model), "-p", prompt, "--json", *args], check=True,
                         capture_output=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def tiny_path() -> Path:
    return ensure_model("tiny", "Q8_0")


@pytest.fixture(scope="session")
def tiny_gqa_path() -> Path:
    return ensure_model("tiny-gqa", "Q4_K_M")


@pytest.fixture(scope="module")
def model(tiny_path):
    import llamaprof

    return llamaprof.Model(tiny_path, n_threads=2, n_ctx=2048)
