"""A fault-injecting HTTP proxy for integration tests, on 127.0.0.1 at a port it binds.

It forwards every request to a real S3 server and can, per rule, answer with an S3
error instead (with a Retry-After if asked), answer 200 with an S3 error body, flip a
byte in the response or the request body, cut the body short, reset the connection
mid-body (a real TCP RST), stall, or run a callback before forwarding (to replace an
object mid-download). Two settings apply to every request: `latency` (seconds each waits
before it is forwarded, as a far-away server) and `cap` (a request arriving while that
many are in flight is answered 503 SlowDown at once, as S3 does to a prefix pushed too
hard); `peak` is the most it had in flight, `refused` how many the cap turned away. It logs each request with its time and counts the body bytes it
served, so tests can say what was fetched and when.

Requests are forwarded with their headers untouched, Host included, so a SigV4
signature still holds at the server: s3rver checks it and accepts it, moto does not
check. riptide signs UNSIGNED-PAYLOAD and sends Content-MD5, so a request body the
proxy corrupts is caught by the server's digest check, as it would be in the wild;
nothing here needs re-signing.
"""
import http.client
import http.server
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Rule:
    match: Callable[[str, str, dict], bool]  # (method, path, headers) -> applies?
    action: str                              # "status", "error200", "flip", "truncate", "before", "delay",
                                             # "header", "body" (transform it), "trickle" (slow it down),
                                             # "reset" (RST after half the body), "flip_request",
                                             # "respond" (ask `respond` for an error to answer)
    times: int = 1                           # how many matching requests it applies to
    status: int = 503
    code: str = "SlowDown"
    message: str = "injected by the test proxy"  # for "status": the <Message> of the error
    callback: Optional[Callable[[], None]] = None
    seconds: float = 0.0                     # for "delay"
    header: tuple = ()                       # for "header": (name, value) to set; (name,) removes it
    transform: Optional[Callable[[bytes], bytes]] = None  # for "body": the new body from the old
    chunk: int = 65536                       # for "trickle": send this many bytes, then sleep `seconds`
    retry_after: Optional[str] = None        # for "status": the Retry-After header to send
    respond: Optional[Callable[[dict], Optional[tuple]]] = None  # for "respond": headers -> (status, code) or None
    used: int = 0


@dataclass
class Logged:
    method: str
    path: str
    range: Optional[str]
    status: int = 0
    body_bytes: int = 0
    access_key: str = ""  # the key id the request was signed with (Credential=…)
    time: float = 0.0     # time.monotonic() when the request arrived
    headers: dict = field(default_factory=dict)  # the request's headers, names in lower case
    body: Optional[bytes] = None                 # the request's body when it is at most 64 KiB


class FaultProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.rules = []
        self.log = []
        self.lock = threading.Lock()
        self.latency = 0.0
        self.cap = 0
        self.serial = 0.0  # seconds each request holds the one desk: a server that serves one at a time
        self.desk = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.refused = 0  # answered SlowDown for the cap
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                entry = Logged(self.command, self.path, self.headers.get("Range"), time=time.monotonic(),
                               headers={k.lower(): v for k, v in self.headers.items()},
                               body=body if body is not None and len(body) <= 65536 else None)
                auth = self.headers.get("Authorization") or ""
                if "Credential=" in auth:
                    entry.access_key = auth.split("Credential=", 1)[1].split("/", 1)[0]
                with proxy.lock:
                    proxy.log.append(entry)
                    over = proxy.cap and proxy.in_flight >= proxy.cap
                    if over:
                        rule = Rule(lambda *a: True, "status", message="over the proxy's cap of requests in flight")
                        proxy.refused += 1
                    else:
                        rule = proxy._take_rule(self.command, self.path, dict(self.headers))
                        proxy.in_flight += 1
                        proxy.peak = max(proxy.peak, proxy.in_flight)
                try:
                    self.answer(entry, rule, body)
                finally:
                    if not over:
                        with proxy.lock:
                            proxy.in_flight -= 1

            def answer(self, entry, rule, body):
                if proxy.latency and not (rule and rule.action == "status"):
                    time.sleep(proxy.latency)
                if proxy.serial:
                    with proxy.desk:
                        time.sleep(proxy.serial)
                if rule and rule.action == "respond":
                    answer = rule.respond(dict(self.headers))
                    if answer:
                        rule = Rule(rule.match, "status", status=answer[0], code=answer[1])
                if rule and rule.action in ("status", "error200"):
                    payload = (f'<?xml version="1.0"?><Error><Code>{rule.code}</Code>'
                               f"<Message>{rule.message}</Message></Error>").encode()
                    entry.status = rule.status if rule.action == "status" else 200
                    self.send_response(entry.status)
                    if rule.retry_after is not None:
                        self.send_header("Retry-After", rule.retry_after)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if rule and rule.action == "before":
                    rule.callback()
                if rule and rule.action == "delay":
                    time.sleep(rule.seconds)
                if rule and rule.action == "flip_request" and body:
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items()}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                entry.status = resp.status
                if rule and rule.action == "flip" and data:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                if rule and rule.action == "body":
                    data = rule.transform(data)
                self.send_response(resp.status)
                replaced = rule.header[0].lower() if rule and rule.action == "header" else None
                for k, v in resp.getheaders():
                    if k.lower() in ("transfer-encoding", "connection") or k.lower() == replaced:
                        continue
                    if k.lower() == "content-length" and rule and rule.action == "body":
                        v = str(len(data))
                    self.send_header(k, v)
                if replaced and len(rule.header) == 2:
                    self.send_header(*rule.header)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if rule and rule.action == "reset":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    entry.body_bytes += len(data) // 2
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if rule and rule.action == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    entry.body_bytes += len(data) // 2
                    self.close_connection = True
                    return
                if rule and rule.action == "trickle":
                    try:
                        for off in range(0, len(data), rule.chunk):
                            self.wfile.write(data[off:off + rule.chunk])
                            self.wfile.flush()
                            entry.body_bytes += len(data[off:off + rule.chunk])
                            time.sleep(rule.seconds)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True  # the client went away (killed)
                    return
                self.wfile.write(data)
                entry.body_bytes += len(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_one

        class Server(http.server.ThreadingHTTPServer):
            # curl opens a connection per request it starts at once: a listen queue of 5
            # drops the rest of a burst's SYNs, which come back a second later and hide
            # how many were sent at once.
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass  # a client killed mid-request (the crash tests do that on purpose)

        self.server = Server(("127.0.0.1", 0), Handler)  # the port is the kernel's choice, read back
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _take_rule(self, method, path, headers):
        for rule in self.rules:
            if rule.used < rule.times and rule.match(method, path, headers):
                rule.used += 1
                return rule
        return None

    def clear(self, keep_log=False):
        with self.lock:
            self.rules.clear()
            if not keep_log:
                self.log.clear()

    def add(self, rule):
        with self.lock:
            self.rules.append(rule)
        return rule

    def requests_for(self, key_fragment, method="GET"):
        with self.lock:
            return [e for e in self.log if e.method == method and key_fragment in e.path]

    def bytes_served(self, key_fragment):
        return sum(e.body_bytes for e in self.requests_for(key_fragment))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
