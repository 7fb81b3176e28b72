#!/usr/bin/env python3
"""A small HTTP server for tests/e2e/download.sh, on 127.0.0.1 only.

Usage: download-server.py ROOT PORTFILE LOGFILE
Serves the files of ROOT and writes its port to PORTFILE once it listens. Every request is
logged to LOGFILE as "GET <path> range=<Range header or ->". The first path segments choose a
behaviour, the last one names the file:

  /f/NAME            the file, with Range support (206 + Content-Range, 416 past the end)
  /norange/NAME      the file, ignoring Range (always 200 and the whole file)
  /cut/N/NAME        the first request of this path: headers for the whole rest, then N bytes
                     and the connection closed; later requests as /f/
  /flaky/K/NAME      the first K requests of this path: 500; then as /f/
  /status/CODE/NAME  always CODE, no file
  /wrong/NAME        the file with its first byte changed (a wrong file), with Range support
  /slow/RATE/NAME    as /f/, at about RATE bytes a second

A request with an absolute URI (a proxy request, "GET http://host/f/NAME") is served by its path.
"""
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ROOT, PORTFILE, LOGFILE = sys.argv[1:4]
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        path = self.path
        rng = self.headers.get("Range")
        with lock:
            with open(LOGFILE, "a") as f:
                f.write("GET %s range=%s\n" % (path, rng or "-"))
            counts[path] = counts.get(path, 0) + 1
            n = counts[path]
        if path.startswith("http://"):
            path = urlsplit(path).path
        parts = path.strip("/").split("/")
        kind, args, name = parts[0], parts[1:-1], parts[-1]
        file = os.path.join(ROOT, os.path.basename(name))
        if kind == "status":
            return self.error(int(args[0]))
        if kind == "flaky" and n <= int(args[0]):
            return self.error(500)
        if not os.path.isfile(file):
            return self.error(404)
        with open(file, "rb") as f:
            data = f.read()
        if kind == "wrong":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        if kind == "norange":
            rng = None
        start = 0
        status = 200
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if m:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % len(data))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.send_header("Accept-Ranges", "none" if kind == "norange" else "bytes")
        self.end_headers()
        try:
            if kind == "cut" and n == 1:
                self.wfile.write(body[: int(args[0])])
                self.wfile.flush()
                self.close_connection = True
                return
            if kind == "slow":
                rate = int(args[0])
                chunk = max(1024, rate // 10)
                for i in range(0, len(body), chunk):
                    self.wfile.write(body[i : i + chunk])
                    self.wfile.flush()
                    time.sleep(chunk / rate)
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def error(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
