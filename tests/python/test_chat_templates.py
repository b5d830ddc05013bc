"""Chat templates: llamaprof's Jinja interpreter against Python's jinja2 on every template llama.cpp
ships (tests/chat/compare_templates.py; ctest runs the same comparison as chat_templates_vs_jinja2)."""

import os
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tests/chat"))
import compare_templates  # noqa: E402


def test_every_template_matches_jinja2(capsys):
    pytest.importorskip("jinja2")
    runner = Path(os.environ.get("LLAMAPROF_CHAT_RENDER", REPO / "build/tests/chat_render"))
    if not runner.exists():
        pytest.skip(f"chat_render not built at {runner} (cmake --build build --target chat_render)")
    if not (compare_templates.LLAMA_MODELS / "templates").is_dir():
        pytest.skip("llama.cpp templates not checked out (scripts/setup)")
    rc = compare_templates.main(["--runner", str(runner)])
    out = capsys.readouterr().out
    print(out)
    assert rc == 0, out[-2000:]
