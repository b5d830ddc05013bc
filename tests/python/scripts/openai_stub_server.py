"""A tiny OpenAI-compatible streaming server for the profiler's HTTP engine tests (llamaprof has no
server of its own yet). Loopback only; it answers POST /v1/completions with N server-sent events
(one word each, a few ms apart, with top_logprobs), then `data: [DONE]`. It prints its port on
stdout, serves at most --max-requests requests and exits after --lifetime seconds in any case.

    python3 openai_stub_server.py [--mode ok|bad-json|http-500] [--delay-ms MS] [--max-requests N] [--lifetime S]
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", default="ok", choices=["ok", "bad-json", "http-500"])
    p.add_argument("--delay-ms", type=float, default=2.0)
    p.add_argument("--max-requests", type=int, default=50)
    p.add_argument("--lifetime", type=float, default=120.0)
    args = p.parse_args()
    served = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            served[0] += 1
            if self.path != "/v1/completions" or args.mode == "http-500":
                self.send_response(500 if args.mode == "http-500" else 404)
                msg = b'{"error": "stub"}'
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            n = int(body.get("max_tokens", 16))
            top = int(body.get("logprobs") or 0)
            for i in range(n):
                time.sleep(args.delay_ms / 1000)
                if args.mode == "bad-json" and i == 1:
                    self.wfile.write(b"data: {not json\n\n")
                    self.wfile.flush()
                    return
                word = f" w{i}"
                lp = {"tokens": [word], "token_logprobs": [-0.5],
                      "top_logprobs": [{f" c{k}": -0.5 - k for k in range(top)}]} if top else None
                ev = {"id": "cmpl-stub", "object": "text_completion", "model": body.get("model", ""),
                      "choices": [{"index": 0, "text": word, "logprobs": lp, "finish_reason": None}]}
                self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
                self.wfile.flush()
            end = {"choices": [{"index": 0, "text": "", "finish_reason": "length"}]}
            self.wfile.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
            self.wfile.flush()
            if served[0] >= args.max_requests:
                threading.Thread(target=server.shutdown, daemon=True).start()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True  # the process ends with serve_forever, whichever stops it
    timer.start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
