"""A fake S3 endpoint for what no real server does: every request is answered by a script,
a function of (method, path, headers) returning an Answer. Test-only, and only for
hostile answers: whatever moto or s3rver can show is tested against them.
"""
import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: Union[bytes, Iterable[bytes]] = b""  # an iterable goes out chunk by chunk
    length: Optional[int] = None                # Content-Length to announce (default: len(body))
    chunk_delay: float = 0.0                    # seconds between chunks (a slowloris)


def listing(keys, size=10, truncated=False, token="", extra=b""):
    """A ListObjectsV2 page holding `keys` (an iterable of str), as bytes."""
    contents = b"".join(f"<Contents><Key>{k}</Key><Size>{size}</Size><ETag>&quot;{'0' * 32}&quot;</ETag>"
                        f"<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>".encode() for k in keys)
    more = f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
    if token:
        more += f"<NextContinuationToken>{token}</NextContinuationToken>"
    return (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>' + contents +
            more.encode() + extra + b"</ListBucketResult>")


class HostileServer:
    """Listens on 127.0.0.1 at a port of the kernel's choosing; `log` holds (method, path)."""

    def __init__(self, script: Callable[[str, str, dict], Answer]):
        self.log = []
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server.lock:
                    server.log.append((self.command, self.path))
                a = script(self.command, self.path, dict(self.headers))
                self.send_response(a.status)
                for k, v in a.headers.items():
                    self.send_header(k, v)
                chunks = [a.body] if isinstance(a.body, bytes) else a.body
                if a.length is not None:
                    self.send_header("Content-Length", str(a.length))
                elif isinstance(a.body, bytes):
                    self.send_header("Content-Length", str(len(a.body)))
                else:
                    self.close_connection = True  # the body ends when the connection does
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if a.chunk_delay:
                            time.sleep(a.chunk_delay)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # riptide hung up: what the test wants

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = answer

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def requests(self, fragment=""):
        with self.lock:
            return [path for _, path in self.log if fragment in path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
