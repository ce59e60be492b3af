#!/usr/bin/python3
"""A minimal KServe v2 REST server that is not infergate, for the remote
model tests: v2 JSON only (no binary tensor extension, no model
configuration), one model `double` (x FP32 [-1, 4] -> y = 2x), errors as
{"error": ...}. It prints "listening on PORT" and, for every inference, the
request's Content-Type and whether it had Inference-Header-Content-Length.

Usage: fake_v2_server.py   (listens on a free loopback port)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

META = {"name": "double", "versions": ["1"], "platform": "python",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}]}


def flat(data):
    return [v for item in data for v in flat(item)] if isinstance(data, list) else [data]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.path == "/v2":
            self.reply(200, {"name": "fake", "version": "1", "extensions": []})
        elif self.path in ("/v2/models/double", "/v2/models/double/versions/1"):
            self.reply(200, META)
        else:
            self.reply(404, {"error": "no route " + self.path})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        print("infer content-type=%s header-length=%s" % (
            self.headers.get("Content-Type"), self.headers.get("Inference-Header-Content-Length")), flush=True)
        if self.path not in ("/v2/models/double/infer", "/v2/models/double/versions/1/infer"):
            return self.reply(404, {"error": "unknown model"})
        request = json.loads(body)
        x = request["inputs"][0]
        if x.get("name") != "x" or x.get("datatype") != "FP32":
            return self.reply(400, {"error": "expected input x FP32"})
        y = [2 * v for v in flat(x["data"])]
        self.reply(200, {"model_name": "double", "model_version": "1",
                         "outputs": [{"name": "y", "datatype": "FP32", "shape": x["shape"], "data": y}]})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening on %d" % server.server_address[1], flush=True)
server.serve_forever()
