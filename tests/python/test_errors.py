"""Engine errors become Python exceptions carrying the engine's message."""

import pytest

import llamaprof


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(FileNotFoundError, match="nope.gguf"):
        llamaprof.Model(missing)
    with pytest.raises(ValueError, match="does not exist"):  # llama-cpp-python's type and words
        llamaprof.Llama(model_path=str(missing), verbose=False)


def test_not_a_gguf(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a gguf file at all" * 10)
    with pytest.raises(ValueError) as e:
        llamaprof.Model(bad)
    assert str(e.value)  # the engine says what is wrong


def test_truncated_gguf(tmp_path, tiny_path):
    data = tiny_path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError):
        llamaprof.Model(cut)


def test_bad_arguments(model, tiny_path):
    with pytest.raises(ValueError):
        llamaprof.Model(tiny_path, n_ctx=-5)
    with pytest.raises(ValueError):
        llamaprof.Model(tiny_path, n_threads=0)
    with pytest.raises(ValueError, match="repeat_penalty"):
        model.generate("hi", max_tokens=2, repeat_penalty=0)
    with pytest.raises(ValueError, match="top_candidates"):
        model.generate("hi", max_tokens=2, top_candidates=-1)
    with pytest.raises(ValueError, match="empty"):
        model.generate("", add_bos=False, max_tokens=2)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.detokenize([5, 10**6])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.eval([-1])
    with pytest.raises(TypeError):
        model.generate(12345, max_tokens=2)


def test_prompt_longer_than_context(tiny_path):
    m = llamaprof.Model(tiny_path, n_threads=1, n_ctx=16)
    with pytest.raises(ValueError, match="16"):
        m.generate("word " * 40, max_tokens=2)
    # still usable afterwards
    assert m.generate("hi", max_tokens=2).tokens
