"""`llamaprof run --json` says how much of the mapped model sits on 2 MiB pages (decode speed
depends on it: runtime/huge_pages.h)."""

from conftest import run_cli_json


def test_run_reports_the_huge_page_share_of_the_weights(tiny_path):
    out = run_cli_json(tiny_path, "Hello", "-n", "2", "--temp", "0")
    # Whether the page cache holds this file in 2 MiB folios depends on how it was written and
    # read, so only the range is fixed.
    assert 0 <= out["weights_huge_pages_pct"] <= 100


def test_the_binding_reports_the_share_too(tiny_path):
    import llamaprof

    m = llamaprof.Model(str(tiny_path), n_threads=1)
    m.generate("Hello", max_tokens=2, temperature=0)
    pct = m.weights_huge_pages_pct
    assert pct is not None and 0 <= pct <= 100
