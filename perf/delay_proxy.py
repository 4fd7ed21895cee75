"""A proxy that makes a local S3 server look far away: every request waits a fixed
latency before it is forwarded (a cross-region round trip), and each response body can
be capped to a rate per connection. With a cap of requests in flight, one more is answered
503 SlowDown (after the same latency), as S3 does to a prefix pushed too hard. Everything
else passes through byte for byte, so signatures still check.

    python3 perf/delay_proxy.py UPSTREAM_PORT [--latency-ms 30] [--rate BYTES_PER_S] [--cap N]

prints "listening on PORT" once it accepts connections; or use DelayProxy from Python.

This proxy costs the two cores the clients share several CPU-seconds a run (it reads each
answer whole before it sends it on): `far_away` uses build/delay_line instead (C++, a tenth
of the CPU or less; the same latency per round trip and rate per connection, bytes passed
as they come) wherever no cap is asked, since only this proxy reads HTTP."""
import argparse
import http.client
import http.server
import os
import subprocess
import tempfile
import threading
import time

from processes import ROOT, own_cpu, process_cpu, reported_port, serve_http

DELAY_LINE = os.environ.get("RIPTIDE_DELAY_LINE") or os.path.join(ROOT, "build", "delay_line")

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


class DelayProxy:
    def __init__(self, upstream_port, latency_ms=30.0, rate=0, cap=0):
        proxy = self
        self.upstream_port, self.latency, self.rate, self.cap = upstream_port, latency_ms / 1000.0, rate, cap
        self.requests = self.in_flight = self.refused = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.requests += 1
                    over = proxy.cap and proxy.in_flight >= proxy.cap
                    proxy.refused += 1 if over else 0
                    proxy.in_flight += 0 if over else 1
                time.sleep(proxy.latency)
                if over:
                    return self.slow_down()
                try:
                    self.relay(body)
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1

            def slow_down(self):
                payload = b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Reduce your request rate." \
                          b"</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def relay(self, body):
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                r = self.ask_upstream(body, headers)
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                proxy.send_body(self.wfile, data)

            def ask_upstream(self, body, headers):
                """The upstream's response, on this client's kept-alive connection. s3rver
                closes one idle for 5 s: a reused connection found closed before it answered
                is replaced and the request sent again, once (the body is held here)."""
                while True:
                    fresh = not hasattr(self, "upstream")
                    if fresh:
                        self.upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=300)
                    try:
                        self.upstream.request(self.command, self.path, body=body, headers=headers)
                        return self.upstream.getresponse()
                    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                        self.upstream.close()
                        del self.upstream
                        if fresh:
                            raise

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.server, self.port, self.endpoint, self.thread = serve_http(Handler)

    def send_body(self, out, data):
        if not self.rate:
            out.write(data)
            return
        chunk = max(1, self.rate // 20)  # 50 ms worth at a time
        start = time.monotonic()
        for sent in range(0, len(data), chunk):
            out.write(data[sent:sent + chunk])
            ahead = (sent + chunk) / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class DelayLine:
    """build/delay_line in front of a local server: the latency split between the two
    directions of every connection, answers capped to `rate` bytes/s per connection."""

    def __init__(self, upstream_port, latency_ms=30.0, rate=0):
        self.log = tempfile.NamedTemporaryFile(prefix="delay-line-", suffix=".log")
        self.proc = subprocess.Popen([DELAY_LINE, str(upstream_port), "--latency-ms", str(latency_ms),
                                      "--rate", str(rate)], stdout=self.log, stderr=subprocess.STDOUT)
        self.port = reported_port(self.proc, self.log.name, r"listening on (\d+)", "delay_line", 10)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def cpu(self):
        return process_cpu(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def far_away(upstream_port, latency_ms, rate, cap):
    """A delay in front of `upstream_port`: build/delay_line where it is built and no cap is
    asked, else a DelayProxy. Its `cpu()` reads what it has spent."""
    if not cap and os.access(DELAY_LINE, os.X_OK):
        return DelayLine(upstream_port, latency_ms, rate)
    proxy = DelayProxy(upstream_port, latency_ms, rate, cap)
    proxy.cpu = own_cpu
    return proxy


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream_port", type=int)
    ap.add_argument("--latency-ms", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=0, help="bytes per second per connection (0: no cap)")
    ap.add_argument("--cap", type=int, default=0, help="requests in flight above which SlowDown is answered")
    args = ap.parse_args()
    p = DelayProxy(args.upstream_port, args.latency_ms, args.rate, args.cap)
    print(f"listening on {p.port}", flush=True)
    p.thread.join()
