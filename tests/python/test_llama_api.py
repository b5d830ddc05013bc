"""llama-cpp-python 0.3's Llama beyond plain completions: processors, stopping criteria, logit_bias,
seeds, the low-level loop (eval/sample/generate/scores), state, prompt reuse, caches, vocab_only,
detokenize rules, embeddings, errors. Each test states the llama-cpp-python behaviour it mirrors."""

import random
import warnings

import numpy as np
import pytest

import llamaprof
from llamaprof import (Llama, LlamaRAMCache, LlamaState, LogitsProcessorList, MinTokensLogitsProcessor,
                       StoppingCriteriaList)
from conftest import REPO

PROMPT = "Q: Name the planets in the solar system? A: "
SPM_VOCAB = REPO / "tools/oracle/generated/llama.cpp/models/ggml-vocab-llama-spm.gguf"
HOT = dict(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)  # many candidates: seeds matter


@pytest.fixture(scope="module")
def llm(tiny_path):
    return Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, n_batch=64, seed=1337, verbose=False)


@pytest.fixture(scope="module")
def llm_all(tiny_path):
    return Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, n_batch=64, logits_all=True, verbose=False)


def evaluated(llm):
    return llm.model._engine.stats()["n_tokens"]


def test_exports_match_llama_cpp_python():
    import llamaprof.llama as mod

    for name in ("LogitsProcessorList", "StoppingCriteriaList", "LlamaState", "LlamaRAMCache", "LlamaCache",
                 "LlamaDiskCache", "MinTokensLogitsProcessor", "LLAMA_DEFAULT_SEED"):
        assert hasattr(llamaprof, name) and hasattr(mod, name), name
    assert llamaprof.LlamaCache is llamaprof.LlamaRAMCache


def test_logits_processor_forces_tokens(llm):
    target = llm.tokenize(b" the", add_bos=False)[-1]
    seen = []

    def only_target(input_ids, scores):
        assert isinstance(input_ids, np.ndarray) and scores.shape == (llm.n_vocab(),)
        seen.append(len(input_ids))
        out = np.full_like(scores, -np.inf)
        out[target] = 0.0
        return out

    out = llm(PROMPT, max_tokens=5, logits_processor=LogitsProcessorList([only_target]), **HOT)
    assert out["choices"][0]["text"] == " the" * 5
    n_prompt = out["usage"]["prompt_tokens"]
    assert seen == list(range(n_prompt, n_prompt + 5))  # the evaluated ids, one more per step


def test_logit_bias_completion_and_chat(llm):
    target = llm.tokenize(b" the", add_bos=False)[-1]
    out = llm(PROMPT, max_tokens=4, logit_bias={target: 100.0}, **HOT)
    assert out["choices"][0]["text"] == " the" * 4
    out = llm(PROMPT, max_tokens=4, logit_bias={str(target): 100.0}, **HOT)  # JSON keys are strings
    assert out["choices"][0]["text"] == " the" * 4
    chat = Llama(model_path=llm.model_path, n_ctx=256, n_threads=2, verbose=False, chat_format="chatml")
    r = chat.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=3, logit_bias={target: 100.0},
                                    **HOT)
    assert r["choices"][0]["message"]["content"] == " the" * 3
    # the processors passed in run first, the bias after them
    r = llm(PROMPT, max_tokens=2, logit_bias={target: -1e9},
            logits_processor=LogitsProcessorList([lambda ids, s: np.where(np.arange(len(s)) == target, 50.0, s)]),
            temperature=0)
    assert " the" not in r["choices"][0]["text"]


def test_min_tokens_processor(llm):
    p = MinTokensLogitsProcessor(3, llm.token_eos())
    scores = np.zeros(llm.n_vocab(), dtype=np.single)
    p(np.arange(10), scores)
    assert scores[llm.token_eos()] == -np.inf


def test_stopping_criteria(llm):
    n_prompt = len(llm.tokenize(PROMPT.encode()))
    calls = []

    def after_three(input_ids, logits):
        calls.append((len(input_ids), logits.shape))
        return len(input_ids) >= n_prompt + 3

    out = llm(PROMPT, max_tokens=10, temperature=0, stopping_criteria=StoppingCriteriaList([after_three]))
    # input_ids holds the evaluated tokens: the 4th sampled token sees prompt + 3 and stops
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"]["completion_tokens"] == 3
    assert calls[0] == (n_prompt, (llm.n_vocab(),))
    full = llm(PROMPT, max_tokens=3, temperature=0)["choices"][0]["text"]
    assert out["choices"][0]["text"] == full


def test_seed_sequence_reproducible(tiny_path):
    def run(seed):
        m = Llama(model_path=str(tiny_path), n_ctx=128, n_threads=2, seed=seed, verbose=False)
        return [m(PROMPT, max_tokens=12, **HOT)["choices"][0]["text"] for _ in range(2)]

    a, b = run(42), run(42)
    assert a == b  # a fresh Llama(seed=S) gives the same sequence
    assert a[0] != a[1]  # each call moves the seed on
    assert run(43) != a
    assert run(llamaprof.LLAMA_DEFAULT_SEED) == run(llamaprof.LLAMA_DEFAULT_SEED)  # also derived, as llama-cpp-python


def test_set_seed_and_explicit_seed(llm):
    llm.set_seed(5)
    a = llm(PROMPT, max_tokens=10, **HOT)["choices"][0]["text"]
    # the call used random.Random(5).randint(0, 2**32), as llama-cpp-python's _create_completion
    b = llm(PROMPT, max_tokens=10, seed=random.Random(5).randint(0, 2 ** 32), **HOT)["choices"][0]["text"]
    assert a == b
    c = llm(PROMPT, max_tokens=10, seed=7, **HOT)["choices"][0]["text"]
    assert llm(PROMPT, max_tokens=10, seed=7, **HOT)["choices"][0]["text"] == c


def test_eval_scores_input_ids_sample(llm_all):
    llm = llm_all
    toks = llm.tokenize(PROMPT.encode())
    llm.reset()
    assert llm.n_tokens == 0
    llm.eval(toks)
    n = len(toks)
    assert llm.n_tokens == n and llm.input_ids[:n].tolist() == toks
    assert llm.scores.shape == (llm.n_ctx(), llm.n_vocab()) and llm.scores.dtype == np.single
    assert all(np.any(llm.scores[i] != 0) for i in range(n))  # one row per evaluated position
    assert not np.any(llm.scores[n])
    greedy = llm.sample(temp=0)
    assert greedy == int(np.argmax(llm.scores[n - 1]))
    # row i is the logits after toks[:i+1]: the same as evaluating that prefix alone
    row3 = llm.scores[3].copy()
    llm.reset()
    llm.eval(toks[:4])
    assert int(np.argmax(llm.scores[3])) == int(np.argmax(row3))
    assert np.allclose(llm.scores[3], row3, atol=2e-2)
    # logprobs of the prompt come from those rows
    lps = Llama.logits_to_logprobs(row3)
    assert np.isclose(np.exp(lps).sum(), 1.0, atol=1e-3)


def test_generate_matches_completion(llm):
    toks = llm.tokenize(PROMPT.encode())
    llm.reset()
    gen = []
    for t in llm.generate(toks, temp=0):
        gen.append(t)
        if len(gen) == 6:
            break
    text = llm(PROMPT, max_tokens=6, temperature=0)["choices"][0]["text"]
    assert llm.detokenize(gen).decode() == text
    assert llm.input_ids[: len(toks)].tolist() == toks


def test_prompt_prefix_reuse_counts_evaluated_tokens(llm, tiny_path):
    llm.reset()
    first = llm(PROMPT, max_tokens=4, temperature=0)
    longer = PROMPT + "Mercury, Venus and"
    p2 = llm.tokenize(longer.encode())
    common = Llama.longest_token_prefix(llm._input_ids.tolist(), p2)
    assert common >= first["usage"]["prompt_tokens"] - 1
    before = evaluated(llm)
    out = llm(longer, max_tokens=4, temperature=0)
    n_eval = evaluated(llm) - before
    assert n_eval == (len(p2) - common) + (4 - 1)  # the new prompt tokens, then 3 decode steps
    fresh = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, n_batch=64, verbose=False)
    assert fresh(longer, max_tokens=4, temperature=0)["choices"][0]["text"] == out["choices"][0]["text"]
    # the same prompt again: only its last token is evaluated again (for its logits)
    before = evaluated(llm)
    llm(longer, max_tokens=1, temperature=0)
    assert evaluated(llm) - before == 1


def test_chat_turns_reuse_the_cache(tiny_path):
    llm = Llama(model_path=str(tiny_path), n_ctx=512, n_threads=2, verbose=False, chat_format="chatml")
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a planet."}]
    r1 = llm.create_chat_completion(msgs, max_tokens=6, temperature=0)
    msgs += [r1["choices"][0]["message"], {"role": "user", "content": "And another one?"}]
    before = evaluated(llm)
    r2 = llm.create_chat_completion(msgs, max_tokens=6, temperature=0)
    n_eval = evaluated(llm) - before
    assert n_eval < r2["usage"]["prompt_tokens"] - r1["usage"]["prompt_tokens"] + 6


def test_save_load_state_reproduces_continuation(tiny_path):
    llm = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, seed=11, verbose=False)
    llm(PROMPT, max_tokens=4, **HOT)
    state = llm.save_state()
    assert isinstance(state, LlamaState) and state.n_tokens == llm.n_tokens and state.llama_state_size > 0
    cont = PROMPT + " Earth and"
    a = llm(cont, max_tokens=12, **HOT)["choices"][0]["text"]
    llm(" something else entirely, long enough to overwrite the cache rows", max_tokens=8, **HOT)
    llm.load_state(state)
    assert llm.n_tokens == state.n_tokens and llm._seed == state.seed
    before = evaluated(llm)
    b = llm(cont, max_tokens=12, **HOT)["choices"][0]["text"]
    assert b == a
    assert evaluated(llm) - before < len(llm.tokenize(cont.encode())) + 11  # the prefix came from the state
    with pytest.raises(ValueError, match="load_state"):
        llm.model._engine.load_state(b"not a state")


def test_ram_cache_keeps_several_prefixes(tiny_path):
    llm = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False)
    llm.set_cache(LlamaRAMCache())
    a = "The first document talks about the sea and ships. "
    b = "A completely different second text about mountains. "
    llm(a, max_tokens=2, temperature=0)
    llm(b, max_tokens=2, temperature=0)  # the context now holds b
    assert len(llm.cache.cache_state) == 2
    before = evaluated(llm)
    out = llm(a + "Ships", max_tokens=2, temperature=0)
    n_eval = evaluated(llm) - before
    assert n_eval < len(llm.tokenize((a + "Ships").encode()))  # a's state came from the cache
    fresh = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False)
    assert fresh(a + "Ships", max_tokens=2, temperature=0)["choices"][0]["text"] == out["choices"][0]["text"]


def test_vocab_only_and_detokenize_rules():
    if not SPM_VOCAB.exists():
        pytest.skip("the llama.cpp bundle's vocabularies are not extracted")
    # llama-cpp-python's tests/test_llama.py::test_llama_cpp_tokenization, on the same file
    llama = Llama(model_path=str(SPM_VOCAB), vocab_only=True, verbose=False)
    text = b"Hello World"
    tokens = llama.tokenize(text)
    assert tokens == [1, 15043, 2787]
    assert llama.detokenize(tokens) == text
    tokens = llama.tokenize(text, add_bos=False)
    assert tokens == [15043, 2787]
    assert llama.detokenize(tokens) != text and llama.detokenize(tokens) == b" Hello World"
    assert llama.tokenize(b"Hello World</s>") == [1, 15043, 2787, 829, 29879, 29958]
    assert llama.tokenize(b"Hello World</s>", special=True) == [1, 15043, 2787, 2]
    assert llama.tokenize(b"", add_bos=True, special=True) == [llama.token_bos()]
    assert llama.detokenize([llama.token_bos()]) == b""
    assert llama.detokenize([1, 15043, 2]) == b"Hello"
    assert llama.detokenize([1, 15043, 2], special=True) == b"<s> Hello</s>"
    assert llama.tokenizer().decode(llama.tokenizer().encode("Hello World")) == "Hello World"
    assert llama.token_nl() == 13
    with pytest.raises(RuntimeError, match="vocab_only"):
        llama("Hello")


def test_special_tokens_in_prompts(llm):
    text = "Hello</s> world"
    out = llm(text, max_tokens=1, temperature=0)
    assert out["usage"]["prompt_tokens"] == len(llm.tokenize(text.encode(), special=True))
    assert out["usage"]["prompt_tokens"] < len(llm.tokenize(text.encode(), special=False))
    ids = llm.tokenize(b"Hello", add_bos=False) + [llm.token_eos()] + llm.tokenize(b" world", add_bos=False)
    out = llm(ids, max_tokens=1, temperature=0, echo=True)
    assert out["usage"]["prompt_tokens"] == len(ids)  # used as given: no BOS, the id kept


def test_max_tokens_none_bounded_by_context(tiny_path):
    llm = Llama(model_path=str(tiny_path), n_ctx=48, n_threads=2, verbose=False)
    n_prompt = len(llm.tokenize(PROMPT.encode()))
    for mt in (None, 0, -1, 10_000):
        out = llm(PROMPT, max_tokens=mt, temperature=0, logit_bias={llm.token_eos(): -np.inf})
        assert out["usage"]["completion_tokens"] == 48 - n_prompt
        assert out["choices"][0]["finish_reason"] == "length"
    with pytest.raises(ValueError, match="exceed context window"):
        llm("word " * 60)


def test_echo_logprobs_and_model_name(llm):
    out = llm(PROMPT, max_tokens=3, temperature=0, logprobs=2, echo=True, model="my-model")
    assert out["model"] == "my-model"
    lp = out["choices"][0]["logprobs"]
    n_prompt = out["usage"]["prompt_tokens"]
    assert len(lp["tokens"]) == n_prompt - 1 + 3  # BOS is not listed
    # the tokens are the pieces: the prompt's first keeps its space, as in llama-cpp-python
    assert "".join(lp["tokens"]) == " " + out["choices"][0]["text"]
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
    assert lp["text_offset"] == sorted(lp["text_offset"]) and lp["text_offset"][0] == 0
    assert all(v <= 0 for v in lp["token_logprobs"][1:])
    chat = Llama(model_path=llm.model_path, n_ctx=256, n_threads=2, verbose=False, chat_format="chatml")
    r = chat.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=2, model="chat-name")
    assert r["model"] == "chat-name" and r["id"].startswith("chatcmpl-")


def test_chat_logprobs_openai_shape(tiny_path):
    llm = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False, chat_format="chatml")
    msgs = [{"role": "user", "content": "hi"}]
    r = llm.create_chat_completion(msgs, max_tokens=4, temperature=0, logprobs=True, top_logprobs=3)
    content = r["choices"][0]["logprobs"]["content"]
    assert len(content) == 4
    assert "".join(c["token"] for c in content) == r["choices"][0]["message"]["content"]
    for c in content:
        assert set(c) == {"token", "logprob", "bytes", "top_logprobs"}
        assert bytes(c["bytes"]) == c["token"].encode() and c["logprob"] <= 0
        assert 1 <= len(c["top_logprobs"]) <= 4
        assert max(t["logprob"] for t in c["top_logprobs"]) == pytest.approx(c["logprob"], abs=1e-4)  # greedy
    r = llm.create_chat_completion(msgs, max_tokens=2, temperature=0)
    assert r["choices"][0]["logprobs"] is None
    chunks = list(llm.create_chat_completion(msgs, max_tokens=4, temperature=0, logprobs=True, top_logprobs=1,
                                             stream=True))
    assert any(ch["choices"][0]["logprobs"] for ch in chunks)


def test_embeddings(tiny_path):
    n_embd = 256
    base = dict(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False, embedding=True)
    none = Llama(**base, pooling_type=llamaprof.LLAMA_POOLING_TYPE_NONE)
    rows = np.array(none.embed("The sea and the ships"))
    n_tok = len(none.tokenize(b"The sea and the ships"))
    assert rows.shape == (n_tok, n_embd)
    mean = Llama(**base, pooling_type=llamaprof.LLAMA_POOLING_TYPE_MEAN)
    e = mean.embed("The sea and the ships")
    assert len(e) == n_embd and np.allclose(e, rows.mean(axis=0), atol=1e-4)
    cls = Llama(**base, pooling_type=llamaprof.LLAMA_POOLING_TYPE_CLS).embed("The sea and the ships")
    last = Llama(**base, pooling_type=llamaprof.LLAMA_POOLING_TYPE_LAST).embed("The sea and the ships")
    assert np.allclose(cls, rows[0], atol=1e-5) and np.allclose(last, rows[-1], atol=1e-5)
    unit = mean.embed("The sea and the ships", normalize=True)
    assert np.isclose(np.linalg.norm(unit), 1.0, atol=1e-5) and np.allclose(unit, e / np.linalg.norm(e), atol=1e-5)
    out = mean.create_embedding(["one text", "another text"], model="emb")
    assert out["object"] == "list" and out["model"] == "emb" and len(out["data"]) == 2
    assert out["data"][1] == {"object": "embedding", "embedding": out["data"][1]["embedding"], "index": 1}
    assert out["usage"]["prompt_tokens"] == out["usage"]["total_tokens"] == \
        len(mean.tokenize(b"one text")) + len(mean.tokenize(b"another text"))
    # the same text embeds the same whatever was evaluated before
    mean("Some completion first", max_tokens=2)
    assert np.allclose(mean.embed("The sea and the ships"), e, atol=1e-6)
    with pytest.raises(ValueError, match="exceed batch size"):
        Llama(**base, n_batch=8).embed("word " * 20, truncate=False)
    with pytest.raises(RuntimeError, match="embedding=True"):
        Llama(model_path=str(tiny_path), n_ctx=64, verbose=False).embed("x")


def test_kv_cache_types(tiny_path):
    from llamaprof.llama import GGML_TYPE_F16, GGML_TYPE_F32, GGML_TYPE_Q8_0

    toks = None
    logits, sizes = {}, {}
    for t in (GGML_TYPE_F16, GGML_TYPE_F32, GGML_TYPE_Q8_0):
        llm = Llama(model_path=str(tiny_path), n_ctx=128, n_threads=2, verbose=False, type_k=t, type_v=t)
        toks = llm.tokenize(PROMPT.encode())
        llm.eval(toks)
        logits[t] = llm.scores[len(toks) - 1].copy()
        sizes[t] = llm.model._engine.kv_cache_bytes
        assert llm(PROMPT, max_tokens=4)["usage"]["completion_tokens"] <= 4
    assert sizes[GGML_TYPE_F32] == 2 * sizes[GGML_TYPE_F16]
    assert sizes[GGML_TYPE_Q8_0] == sizes[GGML_TYPE_F16] * 17 // 32  # Q8_0 about halves the cache
    ref = logits[GGML_TYPE_F32]
    scale = np.abs(ref).max()
    d16 = np.abs(logits[GGML_TYPE_F16] - ref).max()
    d8 = np.abs(logits[GGML_TYPE_Q8_0] - ref).max()
    assert 0 < d16 < d8 < 0.05 * scale  # the types are really used, Q8_0 rounds most
    assert int(np.argmax(logits[GGML_TYPE_F16])) == int(np.argmax(ref))


def test_close_and_context_manager(tiny_path):
    with Llama(model_path=str(tiny_path), n_ctx=64, n_threads=2, verbose=False) as llm:
        assert llm("Hi", max_tokens=2)["usage"]["completion_tokens"] <= 2
    with pytest.raises(RuntimeError, match="closed"):
        llm("Hi", max_tokens=2)
    llm.close()  # twice is fine


def test_errors_and_keywords(tiny_path, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Llama(model_path=str(tmp_path / "missing.gguf"), verbose=False)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ValueError, match="Failed to load model"):
        Llama(model_path=str(bad), verbose=False)
    path = str(tiny_path)
    for kw in (dict(rope_freq_base=20000.0), dict(lora_path="x.bin"), dict(kv_overrides={"a": 1}),
               dict(type_k=2), dict(type_v=30)):  # GGML_TYPE_Q4_0, GGML_TYPE_BF16
        with pytest.raises(NotImplementedError, match=next(iter(kw))):
            Llama(model_path=path, n_ctx=64, verbose=False, **kw)
    with pytest.warns(RuntimeWarning, match="n_gpu_layers"):
        Llama(model_path=path, n_ctx=64, verbose=False, n_gpu_layers=-1)
    with pytest.warns(RuntimeWarning, match="unknown keyword foo"):
        Llama(model_path=path, n_ctx=64, verbose=False, foo=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults and F16 caches are honoured silently
        llm = Llama(model_path=path, n_ctx=64, verbose=False, n_gpu_layers=0, type_k=1, type_v=1, flash_attn=False)
    for kw in (dict(typical_p=0.5), dict(tfs_z=0.9), dict(mirostat_mode=2), dict(suffix="x"), dict(bogus=1)):
        with pytest.raises(NotImplementedError, match=next(iter(kw))):
            llm("Hi", max_tokens=1, **kw)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        llm([1, 10 ** 6], max_tokens=1)


def test_chat_format_names_of_llama_cpp_python(tiny_path):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    out = {}
    for name in ("llama-2", "llama2", "llama-3", "llama3", "chatml"):
        llm = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False, chat_format=name)
        assert llm.chat_format == name
        out[name] = llm.create_chat_completion(msgs, max_tokens=3, temperature=0)["usage"]["prompt_tokens"]
    assert out["llama-2"] == out["llama2"] and out["llama-3"] == out["llama3"]
    with pytest.raises(ValueError, match="alpaca.*llama3.*llama-cpp-python's names.*llama-2"):
        Llama(model_path=str(tiny_path), n_ctx=64, verbose=False, chat_format="alpaca")


def test_disk_cache(tiny_path, tmp_path):
    from llamaprof import LlamaDiskCache

    llm = Llama(model_path=str(tiny_path), n_ctx=256, n_threads=2, verbose=False)
    llm.set_cache(LlamaDiskCache(str(tmp_path / "cache")))
    a = "The first document talks about the sea and ships. "
    llm(a, max_tokens=2, temperature=0)
    llm("Something else entirely about mountains. ", max_tokens=2, temperature=0)
    assert len(list((tmp_path / "cache").glob("*.state"))) == 2
    assert llm.cache.cache_size > 0 and tuple(llm.tokenize(a.encode())) in llm.cache
    before = evaluated(llm)
    llm(a + "Ships", max_tokens=2, temperature=0)
    assert evaluated(llm) - before < len(llm.tokenize((a + "Ships").encode()))


def test_generate_send_verifies_draft_tokens(llm_all, llm):
    """send(ids) after a token offers draft ids (llama-cpp-python's speculative decoding): they are
    evaluated with it, sampling continues at the token's position, and the drafts after the first
    mismatch are dropped. The positions' logits are needed: logits_all=True."""
    greedy = llm_all(PROMPT, max_tokens=3, temperature=0)["choices"][0]["text"]
    toks = llm_all.tokenize(PROMPT.encode())
    llm_all.reset()
    g = llm_all.generate(toks, temp=0)
    first = next(g)
    right = g.send([first])  # a wrong draft (unless the model repeats itself): rolled back
    third = next(g)
    g.close()
    assert llm_all.detokenize([first, right, third]).decode() == greedy
    assert llm_all.input_ids[: len(toks) + 2].tolist() == toks + [first, right]
    llm.reset()
    g = llm.generate(toks, temp=0)
    next(g)
    with pytest.raises(RuntimeError, match="logits_all"):
        g.send([first])


def test_empty_prompt_starts_after_bos(llm):
    out = llm("", max_tokens=3, temperature=0)
    # llama-cpp-python: the completion starts with BOS (counted) and its first piece loses its space
    assert out["usage"]["prompt_tokens"] == 1 and out["usage"]["completion_tokens"] == 3  # BOS + 2 sampled
    assert not out["choices"][0]["text"].startswith(" ")
    ids = llm.tokenize(b"Hello", add_bos=False)
    assert llm(ids, max_tokens=2, temperature=0)["usage"]["completion_tokens"] == 2  # a list: no BOS lead


def test_pickle_and_eval_deques(tiny_path):
    import pickle

    llm = Llama(model_path=str(tiny_path), n_ctx=128, n_threads=2, seed=9, verbose=False, chat_format="chatml")
    copy = pickle.loads(pickle.dumps(llm))  # re-created from its arguments and current seed
    assert copy.n_ctx() == 128 and copy.chat_format == "chatml" and copy._seed == 9
    assert copy(PROMPT, max_tokens=6, **HOT)["choices"][0]["text"] == llm(PROMPT, max_tokens=6, **HOT)["choices"][0]["text"]
    assert list(llm.eval_tokens) == llm.input_ids[: llm.n_tokens].tolist()
    assert len(llm.eval_logits) == 1  # without logits_all, as llama-cpp-python


def test_import_llamaprof_without_numpy():
    import subprocess
    import sys
    from pathlib import Path

    # The Model API and the profiler's workers must import where numpy is missing (pyenv's python);
    # Llama needs it (as llama-cpp-python does) and says so on first use.
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import llamaprof; llamaprof.Model\n"
            "try:\n    llamaprof.Llama\nexcept ImportError as e:\n    print('needs', e.name)\n")
    env = {"PYTHONPATH": str(Path(llamaprof.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "needs numpy"


def test_cache_used_behind_llamas_back(llm):
    llm(PROMPT, max_tokens=3, temperature=0)
    expect = llm(PROMPT + " Venus", max_tokens=3, temperature=0)["choices"][0]["text"]
    llm.model.generate("something else " * 20, max_tokens=2)  # other rows in the engine's cache, more of them
    assert llm.model.n_past > llm.n_tokens
    assert llm(PROMPT + " Venus", max_tokens=3, temperature=0)["choices"][0]["text"] == expect
    llm.model.generate("x", max_tokens=2)  # fewer
    assert llm(PROMPT + " Venus", max_tokens=3, temperature=0)["choices"][0]["text"] == expect
    llm.model.reset()
    with pytest.raises(RuntimeError, match="reset"):
        llm.eval([1])
    llm.reset()
    llm.eval([1])
