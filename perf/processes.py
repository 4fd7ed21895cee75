"""Starting the processes a benchmark measures against: s3rver and `riptide serve`, each
on a port of the kernel's choosing (port 0), read back from what the process prints."""
import http.server
import os
import re
import socketserver
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RIPTIDE = os.path.join(ROOT, "build", "riptide")
S3RVER = os.path.join(ROOT, "scripts", "s3rver", "node_modules", ".bin", "s3rver")


def reported_port(proc, log_path, pattern, what, timeout=60):
    """The port `proc` names in its log (the first group of `pattern`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path, "rb") as f:
            m = re.search(pattern, f.read().decode(errors="replace"))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited ({proc.returncode}) before it listened; see {log_path}")
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen within {timeout} s; see {log_path}")


class ThreadedServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve_http(handler):
    """(server, port, endpoint, thread) of `handler` served on 127.0.0.1 at a port of the
    kernel's choosing, a thread per connection."""
    server = ThreadedServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, port, f"http://127.0.0.1:{port}", thread


def start_s3rver(store, log_path):
    """(process, endpoint URL) of an s3rver serving `store` on 127.0.0.1."""
    env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")  # s3rver's DES continuation tokens
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([S3RVER, "-d", store, "-a", "127.0.0.1", "-p", "0", "-s"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    port = reported_port(proc, log_path, r"S3rver listening on 127\.0\.0\.1:(\d+)", "s3rver")
    return proc, f"http://127.0.0.1:{port}"


def start_serve(config, log_path, env):
    """(process, base URL) of `riptide serve --config config` on 127.0.0.1."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([RIPTIDE, "serve", "--config", config, "--listen", "127.0.0.1:0"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    port = reported_port(proc, log_path, r"listening on http://\S+:(\d+) with", "riptide serve", 30)
    return proc, f"http://127.0.0.1:{port}"
