"""`python3 -m llamaprof.server`: starts `llamaprof serve` with llama_cpp.server's flag names.

    python3 -m llamaprof.server --model M.gguf --host 127.0.0.1 --port 8000 --n_ctx 2048

The server is the C++ one (the CLI is exec'ed: same process id, signals and exit code). Flags of
llama_cpp.server that llamaprof does not have are refused by argparse, never silently dropped.
The CLI is found through $LLAMAPROF_CLI, then the build tree this package lives in, then $PATH.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path


def find_cli():
    env = os.environ.get("LLAMAPROF_CLI")
    if env:
        return env
    # <build>/python/pkg/llamaprof/server.py -> <build>/tools/cli/llamaprof
    here = Path(__file__).absolute().parent
    candidate = here.parents[1] / "tools" / "cli" / "llamaprof"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("llamaprof")
    if found:
        return found
    raise SystemExit("llamaprof.server: cannot find the llamaprof program: set LLAMAPROF_CLI")


def build_parser():
    p = argparse.ArgumentParser(prog="python3 -m llamaprof.server",
                                description="OpenAI-compatible server (llamaprof serve) with llama_cpp.server's flags")
    p.add_argument("--model", required=True, help="GGUF model file")
    p.add_argument("--model_alias", help="the model's name in the API (default: the file name)")
    p.add_argument("--host", default="localhost", help="address to listen on (llama_cpp.server's default: localhost)")
    p.add_argument("--port", type=int, default=8000, help="port (llama_cpp.server's default: 8000)")
    p.add_argument("--n_ctx", type=int, default=2048, help="context length per slot")
    p.add_argument("--n_batch", type=int, default=512, help="prompt tokens per forward pass")
    p.add_argument("--n_threads", type=int, default=0, help="worker threads (0: one per physical core)")
    p.add_argument("--api_key", help="require 'Authorization: Bearer KEY'")
    p.add_argument("--chat_format", help="chat format name or Jinja file (default: the model's template)")
    p.add_argument("--seed", type=int, help="sampling seed default")
    # llamaprof's own: llama_cpp.server serves one request at a time.
    p.add_argument("--n_parallel", type=int, default=1, help="slots batched together (llamaprof serve --parallel)")
    return p


def command(args):
    """The llamaprof serve command line for parsed arguments (without the program)."""
    host = "127.0.0.1" if args.host == "localhost" else args.host
    cmd = ["serve", "-m", args.model, "--host", host, "--port", str(args.port), "--ctx", str(args.n_ctx),
           "--batch", str(args.n_batch), "--threads", str(args.n_threads), "--parallel", str(args.n_parallel)]
    if args.model_alias:
        cmd += ["--alias", args.model_alias]
    if args.api_key:
        cmd += ["--api-key", args.api_key]
    if args.chat_format:
        cmd += ["--chat-template", args.chat_format]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    return cmd


def main(argv=None):
    args = build_parser().parse_args(argv)
    cli = find_cli()
    sys.stdout.flush()
    os.execv(cli, [cli] + command(args))


if __name__ == "__main__":
    main()
