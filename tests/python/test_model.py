"""llamaprof.Model: loading, tokenizer, generate, stream, logits, cancellation."""

import threading

import numpy as np
import pytest

import llamaprof

PROMPT = "Once upon a time, in a small village"
GREEDY = dict(temperature=0, repeat_penalty=1.0)


def test_facts(model, tiny_path):
    assert model.n_vocab == 32000
    assert model.n_ctx == 2048 and model.n_threads == 2 and model.n_batch == 512
    assert model.hparams["n_layer"] == 2 and model.hparams["arch"] == "llama"
    assert model.type_name == "Q8_0"
    assert model.path == str(tiny_path)
    assert model.bos == 1 and model.eos == 2
    assert model.metadata()["general.architecture"] == "llama"


def test_tokenize_roundtrip(model):
    ids = model.tokenize("Hello world")
    assert ids[0] == model.bos
    assert model.tokenize(b"Hello world") == ids
    assert model.tokenize("Hello world", add_bos=False) == ids[1:]
    assert model.detokenize(ids[1:]) == "Hello world"
    assert model.detokenize_bytes(ids[1:]) == b"Hello world"
    assert model.token_to_piece(ids[1]) == b" Hello"
    # special=True turns "<s>" in the text into the control token
    assert model.bos in model.tokenize("a<s>b", add_bos=False, special=True)
    assert model.bos not in model.tokenize("a<s>b", add_bos=False, special=False)


def test_generate_greedy(model):
    r = model.generate(PROMPT, max_tokens=12, top_candidates=5, logprobs=True, **GREEDY)
    assert isinstance(r, llamaprof.Completion)
    assert len(r.tokens) == 12 and r.finish_reason == "length"
    assert r.prompt_tokens == model.tokenize(PROMPT)
    # generated text continues the prompt: every piece keeps its leading space
    assert r.text_bytes == b"".join(model.token_to_piece(t) for t in r.tokens)
    assert r.text == r.text_bytes.decode("utf-8", "replace")
    t = r.timings
    assert t["prompt_tokens"] == len(r.prompt_tokens) and t["gen_tokens"] == 12
    assert t["prompt_ms"] > 0 and t["gen_ms"] > 0 and t["gen_tps"] > 0
    assert len(r.steps) == 12 and len(r.candidates) == 12
    for i, step in enumerate(r.steps):
        assert step.index == i and step.id == r.tokens[i]
        assert len(step.candidates) == 5
        ps = [c.p for c in step.candidates]
        assert ps == sorted(ps, reverse=True)
        assert step.candidates[0].id == step.id  # greedy takes the most likely token
        assert step.logprob == pytest.approx(step.candidates[0].logprob, abs=1e-4)
        assert step.logprob <= 0
    # deterministic
    assert model.generate(PROMPT, max_tokens=12, **GREEDY).tokens == r.tokens


def test_seeded_sampling_repeats(model):
    a = model.generate(PROMPT, max_tokens=16, temperature=1.0, seed=7)
    b = model.generate(PROMPT, max_tokens=16, temperature=1.0, seed=7)
    c = model.generate(PROMPT, max_tokens=16, temperature=1.0, seed=8)
    assert a.tokens == b.tokens
    assert a.tokens != c.tokens


def test_stop_string(model):
    full = model.generate(PROMPT, max_tokens=16, **GREEDY)
    words = full.text.split()
    assert len(words) >= 3
    stop = words[2]
    r = model.generate(PROMPT, max_tokens=16, stop=[stop], **GREEDY)
    assert r.finish_reason == "stop"
    assert r.text == full.text[: full.text.index(stop)]


@pytest.mark.parametrize("kwargs", [dict(GREEDY), dict(temperature=0.9, seed=1234), dict(stop=["e"], seed=3)])
def test_stream_equals_generate(model, kwargs):
    r = model.generate(PROMPT, max_tokens=24, top_candidates=3, **kwargs)
    s = model.stream(PROMPT, max_tokens=24, top_candidates=3, **kwargs)
    toks = list(s)
    assert [t.id for t in toks] == r.tokens
    assert "".join(t.text for t in toks) == r.text
    assert [[c.id for c in t.candidates] for t in toks] == [[c.id for c in cs] for cs in r.candidates]
    assert s.result.tokens == r.tokens and s.result.text == r.text
    assert s.result.finish_reason == r.finish_reason


def test_stream_close_early_then_reuse(model):
    s = model.stream(PROMPT, max_tokens=200, **GREEDY)
    first = [next(s) for _ in range(3)]
    s.close()
    assert s.result.finish_reason == "cancelled"
    assert s.result.tokens[:3] == [t.id for t in first]
    # the model is free again and gives the same tokens
    assert model.generate(PROMPT, max_tokens=3, **GREEDY).tokens == [t.id for t in first]


def test_busy_while_streaming(model):
    with model.stream(PROMPT, max_tokens=50, **GREEDY) as s:
        next(s)
        with pytest.raises(RuntimeError, match="still running"):
            model.generate(PROMPT, max_tokens=2)
    assert model.generate(PROMPT, max_tokens=2).finish_reason == "length"


def test_logits_zero_copy(model):
    r = model.generate(PROMPT, max_tokens=6, **GREEDY)
    view = model.logits
    assert isinstance(view, memoryview) and view.readonly
    assert view.format == "f" and view.shape == (model.n_vocab,)
    arr = np.asarray(view)
    assert arr.dtype == np.float32 and arr.shape == (32000,)
    # the last token was sampled greedily from exactly these logits
    assert int(np.argmax(arr)) == r.tokens[-1]
    # zero-copy: the array sees the next forward pass
    before = arr.copy()
    model.reset()
    model.eval([model.bos, 15043])
    assert model.n_past == 2
    assert not np.array_equal(before, arr)
    assert np.array_equal(arr, np.asarray(model.logits))
    with pytest.raises((TypeError, ValueError)):
        arr[0] = 1.0  # read-only


def test_eval_continues_cache(model):
    ids = model.tokenize(PROMPT)
    model.reset()
    model.eval(ids[:4])
    model.eval(ids[4:])
    split = np.array(model.logits)
    model.reset()
    model.eval(ids)
    np.testing.assert_allclose(np.asarray(model.logits), split, rtol=1e-3, atol=1e-3)


def test_cancel_from_another_thread(model):
    timer = threading.Timer(0.1, model.cancel)
    timer.start()
    r = model.generate(PROMPT, max_tokens=1900, **GREEDY)
    timer.join()
    assert r.finish_reason == "cancelled"
    assert 0 < len(r.tokens) < 1900


def test_profile_record(model):
    p = model.profile(PROMPT, max_tokens=8, temperature=0)
    assert p["gen_tokens"] == 8 and len(p["token_latency_ms"]) == 8
    assert len(p["threads"]) == model.n_threads
    for t in p["threads"]:
        assert t["busy_share"] + t["spin_share"] + t["sleep_share"] == pytest.approx(1.0)
    assert p["threads_total"]["busy_s"] > 0
    assert any(o["name"] == "attention" for o in p["ops"])
    assert p["cpu"]["wall_s"] > 0 and p["missing"]
    assert llamaprof.profile(model, PROMPT, max_tokens=4)["gen_tokens"] == 4


def test_gqa_model(tiny_gqa_path):
    m = llamaprof.Model(tiny_gqa_path, n_threads=1, n_ctx=256)
    r = m.generate(PROMPT, max_tokens=5, **GREEDY)
    assert len(r.tokens) == 5 and m.hparams["n_head_kv"] == 2
