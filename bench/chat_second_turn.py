#!/usr/bin/python3
"""Issue 13's second-turn benchmark: the prompt cost of a chat's second turn when the KV cache keeps
the first (Llama.create_chat_completion evaluates only the tokens after the longest cached prefix)
against a fresh evaluation of the whole conversation, on one model in one process.

    bench/chat_second_turn.py MODEL [--threads 2] [--rounds 3] [--reply 64] [--chat-format chatml]

Each round: turn 1 (system + user) with a greedy reply of --reply tokens, then turn 2 (the reply and
a new user message) with max_tokens=1, timed; then the same turn-2 conversation after reset(), timed
again. Reports tokens evaluated and milliseconds for both, medians over the rounds. Run it on an
idle machine.
"""

import argparse
import statistics
import time

from llamaprof import Llama

SYSTEM = ("You are a careful assistant. Answer in complete sentences, cite the part of the question you are "
          "answering, and say when you are unsure. " * 3)
USER1 = ("Here is a paragraph about the history of computing. Charles Babbage designed the Analytical Engine, "
         "Ada Lovelace wrote what is often called the first program, and decades later Alan Turing described "
         "a universal machine. Summarise it in two sentences.")
USER2 = "Now list the three people it names, one per line."


def evaluated(llm):
    return llm._engine.stats()["n_tokens"]


def timed_turn(llm, messages):
    n0, t0 = evaluated(llm), time.perf_counter()
    llm.create_chat_completion(messages, max_tokens=1, temperature=0)
    return evaluated(llm) - n0, (time.perf_counter() - t0) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reply", type=int, default=64)
    ap.add_argument("--chat-format", default=None, help="default: the model's template (chatml if it has none)")
    a = ap.parse_args()
    llm = Llama(model_path=a.model, n_threads=a.threads, n_ctx=2048, verbose=False,
                chat_format=a.chat_format)
    reuse, fresh = [], []
    for _ in range(a.rounds):
        llm.reset()
        first = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER1}]
        reply = llm.create_chat_completion(first, max_tokens=a.reply, temperature=0)["choices"][0]["message"]["content"]
        second = first + [{"role": "assistant", "content": reply}, {"role": "user", "content": USER2}]
        reuse.append(timed_turn(llm, second))
        llm.reset()
        fresh.append(timed_turn(llm, second))
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"model {a.model}, {a.threads} threads, {a.rounds} rounds, reply {a.reply} tokens")
    print("| second turn | tokens evaluated | ms (median) |")
    print("|---|---|---|")
    print(f"| KV cache kept | {med(reuse, 0):.0f} | {med(reuse, 1):.1f} |")
    print(f"| whole conversation again | {med(fresh, 0):.0f} | {med(fresh, 1):.1f} |")
    print(f"ratio fresh / kept: {med(fresh, 1) / med(reuse, 1):.1f}x")


if __name__ == "__main__":
    main()
