"""`llamaprof chat` in a real terminal (tmux): turns, the per-turn summary's evaluated-token count
(turn 2 evaluates only its own tokens), /clear, /exit, '\\' continuation, Ctrl-C during a reply
and twice at the prompt. Random weights: mechanics, not content."""

import re
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import cli_path, ensure_model

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

SUMMARY = re.compile(r"\[prompt: (\d+) new tokens \((\d+) in conversation\) \| reply: (\d+) tokens")


class Pane:
    def __init__(self, args):
        self.name = f"lpchat-{uuid.uuid4().hex[:8]}"
        cmd = " ".join([str(cli_path()), "chat", *args]) + "; echo EXITED $?; sleep 60"
        subprocess.run(["tmux", "new-session", "-d", "-x", "200", "-y", "50", "-s", self.name, cmd], check=True)

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-5000", "-t", self.name],
                              capture_output=True, text=True, check=True).stdout

    def send(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait(self, pred, timeout=60.0):
        end = time.time() + timeout
        while time.time() < end:
            t = self.text()
            if pred(t):
                return t
            time.sleep(0.1)
        raise AssertionError(f"timed out; the pane shows:\n{self.text()}")

    def summaries(self, t):
        return [tuple(int(x) for x in m.groups()) for m in SUMMARY.finditer(t)]

    def wait_summaries(self, n):
        return self.summaries(self.wait(lambda t: len(self.summaries(t)) >= n))

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def pane_factory():
    panes = []

    def make(*args):
        p = Pane(args)
        panes.append(p)
        return p

    yield make
    for p in panes:
        p.close()


def test_turns_reuse_cache_clear_exit(pane_factory, tiny_path):
    p = pane_factory("-m", str(tiny_path), "--chat-template", "chatml", "--system", "'Be brief.'", "-n", "12",
                     "--temp", "0", "-t", "1", "--ctx", "1024")
    p.wait(lambda t: t.rstrip().endswith(">"))
    p.send("hello there \\", "Enter")  # continues on the next line
    p.wait(lambda t: "... " in t)
    p.send("second line", "Enter")
    (s1,) = p.wait_summaries(1)
    assert s1[0] == s1[1]  # turn 1 evaluates the whole conversation
    p.send("and one more question", "Enter")
    s = p.wait_summaries(2)
    new2, total2, _ = s[1]
    assert total2 > s1[1]
    assert new2 < total2  # only turn 2's own tokens (and the re-rendered reply's tail)
    assert new2 <= total2 - s1[1]  # turn 1's prompt stays in the cache
    p.send("/clear", "Enter")
    p.wait(lambda t: "(new conversation)" in t)
    p.send("hello there", "Enter")
    s = p.wait_summaries(3)
    assert s[2][0] == s[2][1]  # after /clear everything is evaluated again
    p.send("/nope", "Enter")
    p.wait(lambda t: "unknown command /nope" in t)
    p.send("/exit", "Enter")
    p.wait(lambda t: "EXITED 0" in t)


def test_ctrl_c_stops_reply_then_twice_exits(pane_factory):
    model = ensure_model("demo", "Q8_0")  # slow enough that a reply runs for seconds
    p = pane_factory("-m", str(model), "--chat-template", "chatml", "-n", "0", "--temp", "0.8", "-t", "1", "--ctx", "4096")
    p.wait(lambda t: t.rstrip().endswith(">"), timeout=120)
    p.send("tell me a long story", "Enter")
    time.sleep(1.5)
    before = p.text()
    assert not p.summaries(before), "the reply ended before Ctrl-C could interrupt it"
    p.send("C-c")
    t = p.wait(lambda t: "interrupted" in t)
    assert len(p.summaries(t)) == 1
    p.wait(lambda t: t.rstrip().endswith(">"))
    p.send("C-c")
    p.wait(lambda t: "Ctrl-C again" in t)
    p.send("C-c")
    p.wait(lambda t: "EXITED 0" in t)


def test_history_and_line_editing(pane_factory, tiny_path):
    p = pane_factory("-m", str(tiny_path), "--chat-template", "chatml", "-n", "4", "--temp", "0", "-t", "1",
                     "--ctx", "1024")
    p.wait(lambda t: t.rstrip().endswith(">"))
    p.send("first question", "Enter")
    p.wait_summaries(1)
    p.send("second one", "Enter")
    p.wait_summaries(2)
    # Up twice recalls the first line; edit its end (Backspace x8, new text) and its middle (Left, insert)
    p.send("Up")
    p.wait(lambda t: t.rstrip().endswith("> second one"))
    p.send("Up")
    p.wait(lambda t: t.rstrip().endswith("> first question"))
    p.send(*["BSpace"] * 8, "answer")
    p.wait(lambda t: t.rstrip().endswith("> first answer"))
    p.send("Home", "my ", "End", "!", "Enter")
    s = p.wait_summaries(3)
    assert "> my first answer!" in p.text()
    # Down past the newest line gives back what was being typed
    p.send("draft", "Up", "Down")
    p.wait(lambda t: t.rstrip().endswith("> draft"))
    p.send("C-u", "/exit", "Enter")
    p.wait(lambda t: "EXITED 0" in t)
    assert len(s) == 3
