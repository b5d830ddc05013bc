"""The GIL is released while the engine computes, and Ctrl-C stops a generation cleanly."""

import os
import signal
import threading
import time

import pytest

PROMPT = "Once upon a time"


def test_other_thread_progresses_during_generate(model):
    generating = threading.Event()
    stop = threading.Event()
    count = [0]

    def counter():
        while not stop.is_set():
            if generating.is_set():
                count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        generating.set()
        t0 = time.perf_counter()
        r = model.generate(PROMPT, max_tokens=64, temperature=0)
        elapsed = time.perf_counter() - t0
        generating.clear()
    finally:
        stop.set()
        t.join()
    assert len(r.tokens) == 64
    # Holding the GIL for the whole call would leave the counter at (almost) zero. A pure-Python
    # loop runs millions of iterations per second; ask for a small fraction of that.
    assert elapsed > 0.02
    assert count[0] > 10_000, (count[0], elapsed)


def test_other_thread_progresses_during_stream(model):
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        n = sum(1 for _ in model.stream(PROMPT, max_tokens=64, temperature=0))
    finally:
        stop.set()
        t.join()
    assert n == 64 and count[0] > 10_000


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_generation(model):
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        model.generate(PROMPT, max_tokens=1900, temperature=0)
    elapsed = time.perf_counter() - t0
    timer.join()
    assert elapsed < 3.0  # 1900 tokens take several seconds: the interrupt cut it short
    # the engine stopped cleanly and is usable
    r = model.generate(PROMPT, max_tokens=4, temperature=0)
    assert len(r.tokens) == 4


def test_ctrl_c_stops_stream(model):
    s = model.stream(PROMPT, max_tokens=1900, temperature=0)
    next(s)
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in s:
            pass
    timer.join()
    s.close()
    assert s.result.finish_reason == "cancelled"
    assert model.generate(PROMPT, max_tokens=2, temperature=0).tokens
