"""Speculative decoding from Python: Model.generate(speculative=...) runs the C++ loop (prompt lookup
or a benchmark oracle), Llama(draft_model=LlamaPromptLookupDecoding(...)) drafts in the Python
generate() loop as llama-cpp-python does. Either way the output is the output without drafts."""

import numpy as np
import pytest

import llamaprof
from llamaprof import Llama, LlamaDraftModel, LlamaPromptLookupDecoding

PROMPT = "one two three four five. one two three four five. one two three"


def test_prompt_lookup_decoding_drafts_what_followed_the_last_ngram():
    d = LlamaPromptLookupDecoding(max_ngram_size=2, num_pred_tokens=3)
    out = d(np.array([1, 2, 3, 9, 5, 2, 3], dtype=np.intc))
    assert isinstance(out, np.ndarray) and out.tolist() == [9, 5, 2]
    assert d(np.array([1, 2, 3], dtype=np.intc)).tolist() == []
    with pytest.raises(ValueError, match="num_pred_tokens"):
        LlamaPromptLookupDecoding(num_pred_tokens=0)
    with pytest.raises(ValueError, match="max_ngram_size"):
        LlamaPromptLookupDecoding(max_ngram_size=0)


def test_model_generate_with_prompt_lookup_is_plain_output(model):
    plain = model.generate(PROMPT, max_tokens=24, temperature=0, ignore_eos=True)
    for spec in (LlamaPromptLookupDecoding(num_pred_tokens=8), {"draft_max": 4, "ngram_min": 1, "ngram_max": 2}):
        r = model.generate(PROMPT, max_tokens=24, temperature=0, ignore_eos=True, speculative=spec)
        assert r.tokens == plain.tokens and r.text == plain.text
        t = r.timings
        assert 0 <= t["draft_accepted"] <= t["draft_tokens"]
        assert t["gen_passes"] + 1 + t["draft_accepted"] == t["gen_tokens"]
    # Streaming delivers the same tokens one by one.
    streamed = [tok.id for tok in model.stream(PROMPT, max_tokens=24, temperature=0, ignore_eos=True,
                                              speculative=LlamaPromptLookupDecoding(num_pred_tokens=8))]
    assert streamed == plain.tokens


def test_model_generate_oracle_drafts_are_all_accepted_and_logprobs_stay_right(model):
    plain = model.generate(PROMPT, max_tokens=17, temperature=0, ignore_eos=True, logprobs=True)
    r = model.generate(PROMPT, max_tokens=17, temperature=0, ignore_eos=True, logprobs=True,
                       speculative={"draft_max": 8, "draft_oracle": plain.tokens})
    assert r.tokens == plain.tokens
    t = r.timings
    assert (t["gen_passes"], t["draft_tokens"], t["draft_accepted"]) == (2, 14, 14)  # 1 + 9 + 7 tokens
    # Each token's logprob comes from the row it was sampled from, not the verify pass's last row
    # (another row's would be off by nats). A batched pass over quantized weights differs from a
    # single-token one by float noise (up to ~0.2 in a logit on this model), hence the tolerance.
    assert r.logprobs == pytest.approx(plain.logprobs, abs=0.1)
    # Sampled: the same seed gives the same tokens run to run, and drafts of the tokens are kept.
    s1 = model.generate(PROMPT, max_tokens=17, seed=5, ignore_eos=True)
    spec = {"draft_max": 8, "draft_oracle": s1.tokens}
    s2 = model.generate(PROMPT, max_tokens=17, seed=5, ignore_eos=True, speculative=spec)
    s3 = model.generate(PROMPT, max_tokens=17, seed=5, ignore_eos=True, speculative=spec)
    assert s2.tokens == s3.tokens and s2.timings["draft_accepted"] > 0


def test_model_generate_rejects_bad_speculative_arguments(model):
    with pytest.raises(TypeError, match="speculative"):
        model.generate(PROMPT, max_tokens=2, speculative=3)
    with pytest.raises(ValueError, match="unknown keys"):
        model.generate(PROMPT, max_tokens=2, speculative={"draft_maximum": 3})
    with pytest.raises(ValueError, match="draft_max"):
        model.generate(PROMPT, max_tokens=2, speculative={"draft_max": -1})
    with pytest.raises(ValueError, match="ngram_max"):
        model.generate(PROMPT, max_tokens=2, speculative={"draft_max": 2, "ngram_min": 3, "ngram_max": 2})


class _Oracle(LlamaDraftModel):
    """Drafts a known continuation (the plain run's), so that every draft is accepted."""

    def __init__(self, prompt_len, continuation):
        self.prompt_len, self.continuation = prompt_len, continuation

    def __call__(self, input_ids, /, **kwargs):
        done = len(input_ids) - self.prompt_len
        return np.asarray(self.continuation[done:done + 4], dtype=np.intc)


def test_llama_draft_model_gives_the_plain_completion(tiny_path):
    kw = dict(n_ctx=256, n_threads=2, verbose=False, seed=3)
    plain_llm = Llama(model_path=str(tiny_path), **kw)
    plain = plain_llm.create_completion(PROMPT, max_tokens=20, temperature=0)
    lookup_llm = Llama(model_path=str(tiny_path), draft_model=LlamaPromptLookupDecoding(num_pred_tokens=6), **kw)
    assert lookup_llm.create_completion(PROMPT, max_tokens=20, temperature=0)["choices"][0]["text"] == \
        plain["choices"][0]["text"]
    # Sampled with a seed: the same completion run to run (one draw per emitted token).
    sampled = lookup_llm.create_completion(PROMPT, max_tokens=20, temperature=0.8, seed=11)
    assert lookup_llm.create_completion(PROMPT, max_tokens=20, temperature=0.8, seed=11)["choices"][0]["text"] == \
        sampled["choices"][0]["text"]

    prompt_ids = plain_llm.tokenize(PROMPT.encode())
    continuation = []
    for tok in plain_llm.generate(prompt_ids, temp=0):
        continuation.append(tok)
        if len(continuation) == 13:
            break
    oracle_llm = Llama(model_path=str(tiny_path), draft_model=_Oracle(len(prompt_ids), continuation), **kw)
    before = oracle_llm.model._engine.stats()["n_evals"]
    got = []
    for tok in oracle_llm.generate(prompt_ids, temp=0):
        got.append(tok)
        if len(got) == 13:
            break
    assert got == continuation
    # The prompt's pass drafts 4, then each pass verifies 4 more: far fewer passes than tokens.
    assert oracle_llm.model._engine.stats()["n_evals"] - before <= 5


def test_llama_draft_model_must_be_callable(tiny_path):
    with pytest.raises(TypeError, match="draft_model"):
        Llama(model_path=str(tiny_path), n_ctx=64, verbose=False, draft_model=42)


def test_cli_run_draft_options(tiny_path, tmp_path):
    import json
    import subprocess

    from conftest import cli_path, run_cli_json

    plain = run_cli_json(tiny_path, PROMPT, "-n", "12", "--temp", "0", "--ignore-eos")
    assert plain["timings"]["draft_tokens"] == 0 and plain["timings"]["gen_passes"] == 11
    lookup = run_cli_json(tiny_path, PROMPT, "-n", "12", "--temp", "0", "--ignore-eos", "--draft-max", "5",
                          "--lookup-ngram-min", "1", "--lookup-ngram-max", "2")
    assert lookup["tokens"] == plain["tokens"]
    oracle = tmp_path / "oracle.json"
    oracle.write_text(json.dumps(plain["tokens"]))
    o = run_cli_json(tiny_path, PROMPT, "-n", "12", "--temp", "0", "--ignore-eos", "--draft-max", "5",
                     "--draft-oracle", str(oracle))
    assert o["tokens"] == plain["tokens"]
    assert (o["timings"]["gen_passes"], o["timings"]["draft_accepted"]) == (2, 9)  # 1 + 6 + 5 tokens
    # The timing lines say it; lookup options without --draft-max are a usage error.
    r = subprocess.run([str(cli_path()), "run", "-m", str(tiny_path), "-p", PROMPT, "-n", "4", "--temp", "0",
                        "--draft-max", "3"], capture_output=True, text=True, check=True)
    assert "drafts:" in r.stderr and "tokens/pass" in r.stderr
    r = subprocess.run([str(cli_path()), "run", "-m", str(tiny_path), "-p", PROMPT, "-n", "4",
                        "--lookup-ngram-min", "2"], capture_output=True, text=True)
    assert r.returncode == 2 and "--draft-max" in r.stderr


def test_profile_draft_max_records_drafts_and_effective_bytes(tmp_path):
    import json
    import subprocess

    from conftest import cli_path, ensure_model

    pkg = cli_path().parents[2] / "python" / "pkg"
    engines = "cli,python" if (pkg / "llamaprof").exists() else "cli"
    model = ensure_model("tiny", "Q4_0")
    out = tmp_path / "prof"
    r = subprocess.run([str(cli_path()), "profile", str(model), "--iterations", "1", "--threads", "1",
                        "--front-ends", engines, "--cache", "as-is", "--max-tokens", "8", "--draft-max", "4",
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "speculative:" in r.stdout and "== Speculative decoding" in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert [s["draft_max"] for s in summary["speculative"]] == [4]
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == len(engines.split(","))
    for run in runs:
        assert run["draft_max"] == 4 and run["gen_passes"] == run["decode_evals"]
        assert run["gen_passes"] + 1 + run["draft_accepted"] == run["comp_tokens"] == 8
        assert run["effective_bytes_per_token"] == pytest.approx(
            run["bytes_per_token"] * run["gen_passes"] / (run["comp_tokens"] - 1))
    # An engine without prompt lookup is refused, not silently run plain.
    r = subprocess.run([str(cli_path()), "profile", str(model), "--front-ends", "llama.cpp", "--draft-max", "4",
                        "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--draft-max" in r.stderr


def test_model_generate_with_a_draft_model(tmp_path):
    from conftest import ensure_model

    path = ensure_model("tiny", "F32")
    target = llamaprof.Model(path, n_threads=2, n_ctx=256)
    draft = llamaprof.Model(path, n_threads=1, n_ctx=256)
    kw = dict(max_tokens=20, temperature=0, repeat_penalty=1.0, ignore_eos=True)
    plain = target.generate(PROMPT, **kw)
    r = target.generate(PROMPT, speculative={"draft_max": 4, "draft_model": draft}, **kw)
    assert r.tokens == plain.tokens
    # The same F32 weights draft exactly the target's greedy picks: every draft is kept.
    t = r.timings
    assert t["draft_tokens"] > 0 and t["draft_accepted"] == t["draft_tokens"]
    assert t["gen_passes"] + 1 + t["draft_accepted"] == t["gen_tokens"]
    with pytest.raises(ValueError, match="another Model"):
        target.generate(PROMPT, max_tokens=2, speculative={"draft_max": 2, "draft_model": target})
    with pytest.raises(TypeError, match="draft_model"):
        target.generate(PROMPT, max_tokens=2, speculative={"draft_max": 2, "draft_model": "x.gguf"})
    other = llamaprof.Model(ensure_model("tiny-phi3", "Q8_0"), n_threads=1, n_ctx=256)
    with pytest.raises(ValueError, match="vocabulary"):
        target.generate(PROMPT, max_tokens=2, speculative={"draft_max": 2, "draft_model": other})


def test_cli_run_draft_model(tiny_path):
    import subprocess

    from conftest import cli_path, ensure_model, run_cli_json

    f32 = ensure_model("tiny", "F32")
    args = ("-n", "12", "--temp", "0", "--repeat-penalty", "1", "--ignore-eos")
    plain = run_cli_json(f32, PROMPT, *args)
    d = run_cli_json(f32, PROMPT, *args, "--draft-max", "4", "--draft-model", str(f32))
    assert d["tokens"] == plain["tokens"]
    assert d["timings"]["draft_tokens"] > 0 and d["timings"]["draft_accepted"] == d["timings"]["draft_tokens"]
    base = [str(cli_path()), "run", "-m", str(f32), "-p", PROMPT, "-n", "4", "--draft-max", "3"]
    r = subprocess.run(base + ["--draft-model", str(ensure_model("tiny-phi3", "Q8_0"))], capture_output=True, text=True)
    assert r.returncode != 0 and "vocabulary" in r.stderr
    r = subprocess.run(base + ["--draft-model", str(tiny_path), "--lookup-ngram-max", "2"], capture_output=True,
                       text=True)
    assert r.returncode == 2
