"""`llamaprof report`: a self-contained page whose plots render in headless Chromium (each plot
div holds plotly's .main-svg), with no network access."""

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import cli_path, ensure_model

PLOTS = ["plot-engines", "plot-cold-warm", "plot-scaling", "plot-latency", "plot-front-ends", "plot-bandwidth",
         "plot-threads", "plot-os-threads"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("chromium is not installed (scripts/setup installs it)")


def dump_dom(page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                            "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    model = ensure_model("tiny", "Q4_0")
    r = subprocess.run([str(cli_path()), "profile", str(model), "--iterations", "1", "--threads", "1,2",
                        "--front-ends", "cli", "--cache", "cold,warm", "--max-tokens", "8", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out / "runs.jsonl"


def test_report_renders_every_plot(runs):
    page = runs.parent / "report.html"
    r = subprocess.run([str(cli_path()), "report", str(runs), "-o", str(page)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    # Self-contained: the library is inline and nothing is fetched.
    assert "plotly.js v" in html
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=\"?https?:", html)

    dom = dump_dom(page)
    assert f'data-plots-rendered="{len(PLOTS)}"' in dom
    for plot_id in PLOTS:
        start = dom.index(f'id="{plot_id}"')
        end = min([dom.index(f'id="{p}"') for p in PLOTS if dom.index(f'id="{p}"') > start] + [len(dom)])
        assert "main-svg" in dom[start:end], f"{plot_id} did not render"
    # The headline cards were filled in from the summary.
    assert "Cold / warm start" in dom and "Bandwidth" in dom
    # The findings list, each with its numbers.
    assert '<ul id="findings"><li><b>' in dom


def test_report_errors_name_the_file(tmp_path):
    bad = tmp_path / "runs.jsonl"
    bad.write_text('{"run": 1}\nnot json\n')
    r = subprocess.run([str(cli_path()), "report", str(bad), "-o", str(tmp_path / "r.html")], capture_output=True,
                       text=True)
    assert r.returncode == 1
    assert "runs.jsonl:2" in r.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = subprocess.run([str(cli_path()), "report", str(empty), "-o", str(tmp_path / "r.html")], capture_output=True,
                       text=True)
    assert r.returncode == 1
    assert "no runs" in r.stderr
