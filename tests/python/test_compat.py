"""`from llamaprof import Llama`: llama-cpp-python's commonly used surface and dict shapes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llamaprof import Llama

PROMPT = "Q: Name the planets in the solar system? A: "


@pytest.fixture(scope="module")
def llm(tiny_path):
    # n_gpu_layers=0 and rope_freq_base=0.0: llama-cpp-python's defaults, accepted silently
    # (other values warn or raise: test_llama_api.py::test_errors_and_keywords)
    return Llama(model_path=str(tiny_path), n_ctx=512, n_threads=2, n_batch=64, seed=1337, use_mmap=True,
                 use_mlock=False, verbose=False, n_gpu_layers=0, rope_freq_base=0.0)


def check_completion_shape(out, model_path, stream_chunk=False):
    assert set(out) == ({"id", "object", "created", "model", "choices"} | (set() if stream_chunk else {"usage"}))
    assert out["id"].startswith("cmpl-") and out["object"] == "text_completion"
    assert isinstance(out["created"], int) and out["model"] == model_path
    (choice,) = out["choices"]
    assert set(choice) == {"text", "index", "logprobs", "finish_reason"}
    assert isinstance(choice["text"], str) and choice["index"] == 0
    if not stream_chunk:
        assert choice["finish_reason"] in ("stop", "length")
        u = out["usage"]
        assert set(u) == {"prompt_tokens", "completion_tokens", "total_tokens"}
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_completion_shape(llm, tiny_path):
    out = llm(PROMPT, max_tokens=8, temperature=0)
    check_completion_shape(out, str(tiny_path))
    assert out["choices"][0]["logprobs"] is None
    assert out["usage"]["prompt_tokens"] == len(llm.tokenize(PROMPT.encode()))
    assert out["usage"]["completion_tokens"] == 8 and out["choices"][0]["finish_reason"] == "length"
    # create_completion is __call__; the same greedy text
    assert llm.create_completion(PROMPT, max_tokens=8, temperature=0)["choices"][0]["text"] == \
        out["choices"][0]["text"]


def test_default_sampling_uses_seed(llm):
    c = llm(PROMPT, max_tokens=10, seed=99)["choices"][0]["text"]
    d = llm(PROMPT, max_tokens=10, seed=99)["choices"][0]["text"]
    e = llm(PROMPT, max_tokens=10, seed=100)["choices"][0]["text"]
    assert c == d  # an explicit seed repeats the call (the sequence of calls: test_llama_api.py)
    assert c != e


def test_echo_and_stop(llm):
    full = llm(PROMPT, max_tokens=12, temperature=0)["choices"][0]["text"]
    echoed = llm(PROMPT, max_tokens=12, temperature=0, echo=True)["choices"][0]["text"]
    assert echoed == PROMPT + full
    stop = full.split()[1]
    out = llm(PROMPT, max_tokens=12, temperature=0, stop=stop)
    assert out["choices"][0]["text"] == full[: full.index(stop)]
    assert out["choices"][0]["finish_reason"] == "stop"


def test_logprobs_shape(llm):
    out = llm(PROMPT, max_tokens=6, temperature=0, logprobs=3)
    lp = out["choices"][0]["logprobs"]
    assert set(lp) == {"tokens", "text_offset", "token_logprobs", "top_logprobs"}
    n = len(lp["tokens"])
    assert n == 6 and all(len(lp[k]) == n for k in lp)
    assert "".join(lp["tokens"]) == out["choices"][0]["text"]
    assert lp["text_offset"][0] == len(PROMPT)
    for tok, val, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"]):
        assert val <= 0 and tok in top and len(top) <= 4
        assert max(top.values()) == pytest.approx(val, abs=1e-4)  # greedy: the top token
    echo = llm(PROMPT, max_tokens=6, temperature=0, logprobs=2, echo=True)["choices"][0]["logprobs"]
    n_prompt = out["usage"]["prompt_tokens"]
    assert len(echo["tokens"]) == n_prompt - 1 + 6  # BOS is not listed, as llama-cpp-python
    assert echo["token_logprobs"][0] is None and echo["top_logprobs"][0] is None
    assert all(v <= 0 for v in echo["token_logprobs"][1:])


def test_stream_chunks(llm, tiny_path):
    for kwargs in (dict(temperature=0), dict(temperature=0.9, seed=5), dict(temperature=0, stop=["e"])):
        full = llm(PROMPT, max_tokens=20, **kwargs)
        chunks = list(llm(PROMPT, max_tokens=20, stream=True, **kwargs))
        for ch in chunks:
            check_completion_shape(ch, str(tiny_path), stream_chunk=True)
        assert all(ch["choices"][0]["finish_reason"] is None for ch in chunks[:-1])
        assert chunks[-1]["choices"][0]["finish_reason"] == full["choices"][0]["finish_reason"]
        assert len({ch["id"] for ch in chunks}) == 1
        assert "".join(ch["choices"][0]["text"] for ch in chunks) == full["choices"][0]["text"]
    chunks = list(llm(PROMPT, max_tokens=4, temperature=0, stream=True, logprobs=1))
    assert all(set(ch["choices"][0]["logprobs"]) == {"tokens", "text_offset", "token_logprobs", "top_logprobs"}
               for ch in chunks[:-1])


def test_tokenize_detokenize(llm):
    ids = llm.tokenize(b"Hello world")
    assert ids[0] == llm.token_bos() and llm.token_eos() == 2
    assert llm.tokenize(b"Hello world", add_bos=False) == ids[1:]
    assert isinstance(llm.detokenize(ids[1:]), bytes)
    assert llm.detokenize(ids) == b"Hello world"
    assert llm.detokenize(ids[1:]) == b" Hello world"  # no BOS: the piece keeps its space
    assert llm.detokenize(ids[2:], prev_tokens=ids[1:2]) == b" world"
    assert llm.n_ctx() == 512 and llm.n_vocab() == 32000 and llm.n_embd() == 256
    assert llm.metadata["general.architecture"] == "llama"


def test_token_list_prompt(llm):
    ids = llm.tokenize(PROMPT.encode())
    a = llm(ids, max_tokens=6, temperature=0)
    b = llm(PROMPT, max_tokens=6, temperature=0)
    assert a["choices"][0]["text"] == b["choices"][0]["text"]


def test_llama_cpp_style_script(tiny_path):
    import llamaprof

    script = Path(__file__).parent / "scripts" / "llama_cpp_style.py"
    env = os.environ.copy()  # run from "/" with this llamaprof importable, however it was found
    env["PYTHONPATH"] = os.pathsep.join([str(Path(llamaprof.__file__).parents[1]), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(script), str(tiny_path), "2", "12", "2"], capture_output=True,
                         text=True, check=True, cwd="/", env=env)
    assert "### ITER: 2 ###" in out.stdout and "comp_tokens:" in out.stdout
    records = json.loads(out.stdout.split("JSON ", 1)[1])
    assert len(records) == 2
    for rec in records:
        check_completion_shape(rec["output"], str(tiny_path))
        assert 0 < rec["output"]["usage"]["completion_tokens"] <= 12
    # a fixed seed: both iterations (fresh Llama objects) give the same text
    assert records[0]["output"]["choices"][0]["text"] == records[1]["output"]["choices"][0]["text"]
