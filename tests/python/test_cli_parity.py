"""The binding gives the same tokens as the CLI (`llamaprof run --json`) for the same settings."""

import pytest

import llamaprof
from conftest import run_cli_json

PROMPT = "The capital of France is"


@pytest.mark.parametrize("preset_fixture", ["tiny_path", "tiny_gqa_path"])
@pytest.mark.parametrize("sampling", [
    dict(cli=["--temp", "0"], py=dict(temperature=0)),
    dict(cli=["--temp", "0.8", "--seed", "42"], py=dict(temperature=0.8, seed=42)),
    dict(cli=["--temp", "1.2", "--seed", "7", "--top-k", "100", "--top-p", "0.9", "--min-p", "0.01",
              "--repeat-penalty", "1.3"],
         py=dict(temperature=1.2, seed=7, top_k=100, top_p=0.9, min_p=0.01, repeat_penalty=1.3)),
])
def test_same_tokens_as_cli(request, preset_fixture, sampling):
    path = request.getfixturevalue(preset_fixture)
    cli = run_cli_json(path, PROMPT, "-n", "24", "-t", "2", "--top-candidates", "4", *sampling["cli"])
    m = llamaprof.Model(path, n_threads=2)
    r = m.generate(PROMPT, max_tokens=24, top_candidates=4, **sampling["py"])
    assert r.prompt_tokens == cli["prompt_ids"]
    assert r.tokens == cli["tokens"]
    assert r.text == cli["text"]
    assert r.finish_reason == cli["finish_reason"]
    assert [[c.id for c in step] for step in r.candidates] == [[c["id"] for c in s] for s in cli["candidates"]]
    # and through the streaming path and the llama-cpp-python surface
    assert [t.id for t in m.stream(PROMPT, max_tokens=24, **sampling["py"])] == cli["tokens"]
