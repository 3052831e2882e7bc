#!/usr/bin/env python3
"""A hostile HTTP server for tests/e2e/065-catalog-grab.sh: every path misbehaves in
one way a crawler must survive (stalls, lying or conflicting lengths, an endless
page). Listens on 127.0.0.1 only; one thread per connection so a stall blocks
nothing else. Usage: grab_liar.py PORT READY_FILE
"""
import http.server
import sys
import time

INDEX = b"""<!doctype html><title>liar</title>
<a href="stall.html">stall</a> <a href="short.html">short</a>
<a href="dup.bin">dup</a> <a href="badrange.bin">badrange</a>
<a href="endless.html">endless</a> <a href="huge-cl.bin">huge</a>
<a href="nolen.bin">nolen</a> <a href="ok-1.0.bin">ok</a>
<a href="headers.bin">headers</a>
"""


class Liar(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def head(self, status, headers):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def do_HEAD(self):
        self.serve(body=False)

    def do_GET(self):
        self.serve(body=True)

    def serve(self, body):
        p = self.path
        ranged = "Range" in self.headers
        if p == "/":
            self.head(200, [("Content-Type", "text/html"), ("Content-Length", str(len(INDEX)))])
            if body:
                self.wfile.write(INDEX)
        elif p == "/stall.html":
            # Promises 100000 bytes, sends 50, then holds the connection open.
            self.head(200, [("Content-Type", "text/html"), ("Content-Length", "100000")])
            if body:
                self.wfile.write(b"<a href=never-1.0.bin>" + b" " * 28)
                self.wfile.flush()
                time.sleep(60)
        elif p == "/short.html":
            # Promises 100000 bytes, sends one link and closes.
            self.head(200, [("Content-Type", "text/html"), ("Content-Length", "100000")])
            if body:
                self.wfile.write(b'<a href="short-target-1.0.bin">t</a>')
        elif p == "/short-target-1.0.bin":
            self.head(200, [("Content-Type", "application/octet-stream"),
                            ("Content-Length", "3000000")])
        elif p == "/ok-1.0.bin":
            self.head(200, [("Content-Type", "application/octet-stream"),
                            ("Content-Length", "2000000")])
        elif p == "/dup.bin":
            self.head(200, [("Content-Type", "application/octet-stream"),
                            ("Content-Length", "100"), ("Content-Length", "5000000")])
        elif p == "/badrange.bin":
            if not body:
                self.head(405, [("Content-Length", "0")])
            else:
                self.head(206, [("Content-Type", "application/octet-stream"),
                                ("Content-Range", "bytes 0-0/abc"), ("Content-Length", "1")])
                self.wfile.write(b"x")
        elif p == "/huge-cl.bin":
            self.head(200, [("Content-Type", "application/octet-stream"),
                            ("Content-Length", "99999999999999999999999")])
        elif p == "/nolen.bin":
            # No length either way: HEAD without one, GET streams until close.
            self.head(200, [("Content-Type", "application/octet-stream")])
            if body:
                self.stream(b"\0" * 4096, 256)
        elif p == "/headers.bin":
            # 10,000 headers of 100 bytes: 1 MB before the body.
            self.head(200, [("X-Pad-%d" % i, "p" * 88) for i in range(10000)])
        elif p == "/endless.html":
            self.head(200, [("Content-Type", "text/html")])
            if body:
                self.stream(b"<p><a href=endless.html>again</a></p>\n" * 100, 10 ** 6)
        else:
            self.head(404, [("Content-Length", "0")])

    def stream(self, chunk, times):
        try:
            for _ in range(times):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Liar)
    srv.daemon_threads = True
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
