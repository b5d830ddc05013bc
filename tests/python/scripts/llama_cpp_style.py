"""A timing script written for llama-cpp-python (in the style of the seed's time-script runs),
with only the import changed. Usage: llama_cpp_style.py MODEL N_THREADS MAX_TOKENS ITERATIONS"""

import json
import sys
import time

from llamaprof import Llama  # was: from llama_cpp import Llama

model_fn = sys.argv[1]
n_threads = int(sys.argv[2])
max_tokens = int(sys.argv[3])
iterations = int(sys.argv[4])

records = []
for it in range(1, iterations + 1):
    t0 = time.time()
    llm = Llama(model_path=model_fn, n_ctx=512, n_threads=n_threads, n_gpu_layers=0, seed=1337, verbose=False)
    time_load = time.time() - t0
    t1 = time.time()
    output = llm("Q: Name the planets in the solar system? A: ", max_tokens=max_tokens, stop=["Q:"], echo=False)
    time_infer = time.time() - t1
    text = output["choices"][0]["text"]
    comp_tokens = output["usage"]["completion_tokens"]
    print(f"### ITER: {it} ###")
    print(f"time_load:   {time_load:.1f}")
    print(f"time_infer:  {time_infer:.1f}")
    print(f"comp_tokens: {comp_tokens}")
    print(f"N_THREADS:   {n_threads}")
    print(f"MAX_TOKENS:  {max_tokens}")
    print(f"model_fn:    {model_fn}")
    print(f"output:      {text.strip()}")
    records.append({"output": output, "time_load": time_load, "time_infer": time_infer})
    del llm

print("JSON " + json.dumps(records))
