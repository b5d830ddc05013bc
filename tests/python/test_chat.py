"""Chat: Llama.create_chat_completion's shapes (llama-cpp-python 0.3 / OpenAI), streaming, chat_format,
errors; `llamaprof run --chat`. The test models have random weights: mechanics, not content."""

import json
import subprocess

import pytest

import llamaprof
from conftest import cli_path

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a planet."}]


@pytest.fixture(scope="module")
def llm(tiny_path):
    return llamaprof.Llama(str(tiny_path), n_ctx=512, n_threads=2, verbose=False, chat_format="chatml")


def test_completion_shape(llm):
    out = llm.create_chat_completion(MESSAGES, max_tokens=8, seed=3)
    assert out["object"] == "chat.completion"
    assert out["id"].startswith("chatcmpl-")
    assert isinstance(out["created"], int) and out["model"]
    (choice,) = out["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    u = out["usage"]
    assert u["completion_tokens"] <= 8
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    # The prompt is the chatml rendering, tokenized with special tokens and one BOS.
    prompt = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a planet.<|im_end|>\n"
              "<|im_start|>assistant\n")
    assert u["prompt_tokens"] == len(llm.tokenize(prompt.encode(), add_bos=True, special=True))


def test_stream_concatenation_equals_text(llm):
    full = llm.create_chat_completion(MESSAGES, max_tokens=12, seed=42, temperature=0.9)
    chunks = list(llm.create_chat_completion(MESSAGES, max_tokens=12, seed=42, temperature=0.9, stream=True))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == full["choices"][0]["finish_reason"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[1:])
    assert text == full["choices"][0]["message"]["content"]


def test_same_seed_repeats_and_greedy(llm):
    a = llm.create_chat_completion(MESSAGES, max_tokens=10, seed=7)
    b = llm.create_chat_completion(MESSAGES, max_tokens=10, seed=7)
    assert a["choices"][0]["message"] == b["choices"][0]["message"]
    g = llm.create_chat_completion(MESSAGES, max_tokens=10, temperature=0, top_k=1, top_p=1.0, min_p=0.0,
                                   repeat_penalty=1.1, presence_penalty=0.1, frequency_penalty=0.1, stop=["\n\n"])
    assert g["usage"]["completion_tokens"] <= 10


def test_list_content_parts(llm):
    parts = [{"role": "user", "content": [{"type": "text", "text": "Name"}, {"type": "text", "text": "a planet."}]}]
    joined = [{"role": "user", "content": "Name\na planet."}]
    a = llm.create_chat_completion(parts, max_tokens=4, temperature=0)
    b = llm.create_chat_completion(joined, max_tokens=4, temperature=0)
    assert a["usage"] == b["usage"] and a["choices"][0]["message"] == b["choices"][0]["message"]


@pytest.mark.parametrize("name", ["chatml", "llama2", "llama3", "mistral-v7", "gemma", "phi3", "zephyr"])
def test_chat_format_names(tiny_path, name):
    llm = llamaprof.Llama(str(tiny_path), n_ctx=256, n_threads=1, verbose=False, chat_format=name)
    assert llm.chat_format == name
    out = llm.create_chat_completion(MESSAGES, max_tokens=2, temperature=0)
    assert out["usage"]["completion_tokens"] <= 2


def test_chat_format_errors(tiny_path, tmp_path):
    with pytest.raises(ValueError, match="chatmll"):
        llamaprof.Llama(str(tiny_path), n_ctx=128, verbose=False, chat_format="chatmll")
    # No template in the file and none named: chat raises naming the built-in formats, completion still works.
    llm = llamaprof.Llama(str(tiny_path), n_ctx=128, n_threads=1, verbose=False)
    assert llm.chat_format is None
    with pytest.raises(ValueError, match="chat_template.*chatml"):
        llm.create_chat_completion(MESSAGES)
    assert llm("a", max_tokens=1)["object"] == "text_completion"
    f = tmp_path / "t.jinja"
    f.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}")
    llm = llamaprof.Llama(str(tiny_path), n_ctx=128, n_threads=1, verbose=False, chat_format=str(f))
    assert llm.create_chat_completion(MESSAGES, max_tokens=1)["object"] == "chat.completion"


def test_bad_messages_raise_value_error(llm):
    with pytest.raises(ValueError, match="chat message 0.*role"):
        llm.create_chat_completion([{"content": "x"}])
    with pytest.raises(ValueError, match="chat message 1.*content"):
        llm.create_chat_completion([{"role": "user", "content": "x"}, {"role": "assistant"}])
    with pytest.raises(ValueError, match="JSON array"):
        llm.create_chat_completion({"role": "user", "content": "x"})
    with pytest.raises(ValueError, match="JSON-serializable"):
        llm.create_chat_completion([{"role": "user", "content": object()}])
    with pytest.raises(ValueError, match="image_url"):
        llm.create_chat_completion([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])


# (grammar= and response_format are supported: tests/python/test_grammar.py)
@pytest.mark.parametrize("kw", [{"tools": []}, {"tool_choice": "auto"}, {"functions": []},
                                {"mirostat_mode": 2}, {"typical_p": 0.5}])
def test_unsupported_keywords_raise(llm, kw):
    (name,) = kw
    with pytest.raises(NotImplementedError, match=name):
        llm.create_chat_completion(MESSAGES, **kw)


def run_chat(model, *args, check=True):
    return subprocess.run([str(cli_path()), "run", "-m", str(model), "--chat", "--json", "-n", "6", "--temp", "0",
                           "-t", "1", *args], capture_output=True, text=True, check=check)


def test_cli_run_chat_json(tiny_path, tmp_path, llm):
    out = json.loads(run_chat(tiny_path, "--chat-template", "chatml", "--system", "Be brief.", "-p",
                              "Name a planet.").stdout)
    assert out["chat_prompt"].startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert out["chat_prompt"].endswith("<|im_start|>assistant\n")
    assert out["prompt_ids"].count(llm.token_bos()) == 1 and out["prompt_ids"][0] == llm.token_bos()
    assert len(out["tokens"]) <= 6
    # --messages gives the same prompt and, greedy, the same reply as Python.
    f = tmp_path / "m.json"
    f.write_text(json.dumps(MESSAGES))
    out2 = json.loads(run_chat(tiny_path, "--chat-template", "chatml", "--messages", str(f)).stdout)
    assert out2["prompt_ids"] == out["prompt_ids"] and out2["text"] == out["text"]
    py = llm.create_chat_completion(MESSAGES, max_tokens=6, temperature=0, repeat_penalty=1.1)
    assert py["choices"][0]["message"]["content"] == out["text"]


def test_cli_run_chat_errors(tiny_path, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('[{"content": "no role"}]')
    r = run_chat(tiny_path, "--chat-template", "chatml", "--messages", str(f), check=False)
    assert r.returncode == 1 and "llamaprof: error:" in r.stderr and "role" in r.stderr
    f.write_text("[not json")
    r = run_chat(tiny_path, "--chat-template", "chatml", "--messages", str(f), check=False)
    assert r.returncode == 1 and "not JSON" in r.stderr
    r = run_chat(tiny_path, "-p", "hi", check=False)  # no template in the file, none named
    assert r.returncode != 0 and "chat_template" in r.stderr and "chatml" in r.stderr
    r = run_chat(tiny_path, "--chat-template", "nope", "-p", "hi", check=False)
    assert r.returncode != 0 and "nope" in r.stderr
    r = subprocess.run([str(cli_path()), "run", "-m", str(tiny_path), "--system", "x", "-p", "hi"],
                       capture_output=True, text=True)
    assert r.returncode == 2  # --system needs --chat


def with_chat_template(src, dst, template: str):
    """A copy of the GGUF src with tokenizer.chat_template added (after the other keys)."""
    import struct

    data = src.read_bytes()
    pos = 24
    fixed = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip_value(t):
        nonlocal pos
        if t == 8:
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8 + n
        elif t == 9:
            et, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            for _ in range(n):
                skip_value(et)
        else:
            pos += fixed[t]

    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
    for _ in range(n_kv):
        skip_value(8)  # the key
        (t,) = struct.unpack_from("<I", data, pos)
        pos += 4
        skip_value(t)
    kv_end = pos
    for _ in range(n_tensors):
        skip_value(8)
        (nd,) = struct.unpack_from("<I", data, pos)
        pos += 4 + 8 * nd + 4 + 8
    align = 32  # general.alignment is absent in make-model's files
    data_start = (pos + align - 1) // align * align
    key, val = b"tokenizer.chat_template", template.encode()
    kv = struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(val)) + val
    head = data[:16] + struct.pack("<Q", n_kv + 1) + data[24:kv_end] + kv + data[kv_end:pos]
    dst.write_bytes(head + b"\0" * (-len(head) % align) + data[data_start:])
    return dst


def test_gguf_template_by_default(tiny_path, tmp_path):
    tmpl = ("{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}<assistant>{% endif %}")
    path = with_chat_template(tiny_path, tmp_path / "templated.gguf", tmpl)
    llm = llamaprof.Llama(str(path), n_ctx=256, n_threads=1, verbose=False)
    assert llm.metadata["tokenizer.chat_template"] == tmpl
    assert llm.chat_format == "chat_template.default"
    out = llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=3, temperature=0)
    # The template writes BOS: the prompt has exactly one ("<s><user>hi</s><assistant>").
    ids = llm.tokenize(b"<s><user>hi</s><assistant>", add_bos=False, special=True)
    assert ids[0] == llm.token_bos() and ids.count(llm.token_bos()) == 1
    assert out["usage"]["prompt_tokens"] == len(ids)
    cli = json.loads(subprocess.run([str(cli_path()), "run", "-m", str(path), "--chat", "--json", "-n", "3", "--temp",
                                     "0", "-t", "1", "-p", "hi"], capture_output=True, text=True, check=True).stdout)
    assert cli["prompt_ids"] == ids
