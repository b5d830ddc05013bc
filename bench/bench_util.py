"""What the Python benchmark scripts share: the CLI they measure and the random-weight models they
make (the same cache and file names as the tests, so a model made once serves both)."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_path() -> Path:
    return Path(os.environ.get("LLAMAPROF_CLI", REPO / "build/tools/cli/llamaprof"))


def ensure_model(preset: str, type_: str) -> Path:
    cache = Path(os.environ.get("LLAMAPROF_TEST_MODELS", REPO / "build/test-models"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{preset}-{type_}-s0.gguf"
    if not path.exists():
        subprocess.run([str(cli_path()), "make-model", "--preset", preset, "--type", type_, "--seed", "0", "-o",
                        str(path)], check=True)
    return path
