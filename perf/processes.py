"""Starting the processes a benchmark measures against: s3rver and `riptide serve`, each
on a port of the kernel's choosing (port 0), read back from what the process prints; and
timing a client beside them."""
import http.server
import json
import os
import re
import resource
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RIPTIDE = os.environ.get("RIPTIDE_BIN") or os.path.join(ROOT, "build", "riptide")  # the tests name theirs
S3RVER = os.path.join(ROOT, "scripts", "s3rver", "node_modules", ".bin", "s3rver")
S3RVER_KEY = "S3RVER"  # s3rver's one access key, its secret the same


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


def process_cpu(pid):
    """CPU seconds (user + system) a process has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu():
    """CPU seconds this process (and so the delay proxy's threads) has used."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(cmd, env=None, cwd=None, stdout=subprocess.DEVNULL):
    """Runs cmd under /usr/bin/time: (wall s, cpu s, peak RSS MiB, exit code)."""
    out = tempfile.mktemp()
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%e %U %S %M", *cmd], env=env, cwd=cwd,
                       stdout=stdout, stderr=subprocess.PIPE, text=True)
    wall = time.time() - t0
    try:
        _, user, sys_, rss = open(out).read().split()[-4:]
    except ValueError:
        user = sys_ = rss = 0
    os.unlink(out)
    if p.returncode != 0:
        print(f"  ! {cmd[0]} exited {p.returncode}: {p.stderr.strip()[-300:]}", file=sys.stderr)
    return wall, float(user) + float(sys_), int(rss) / 1024, p.returncode


def timed_json(cmd, env=None):
    """timed(), keeping the JSON document the command prints on stdout."""
    out = tempfile.mktemp()
    with open(out, "w") as f:
        wall, cpu, rss, code = timed(cmd, env, stdout=f)
    try:
        with open(out) as f:
            doc = json.loads(f.read().strip().splitlines()[-1])
    except (ValueError, IndexError):
        doc = {}
    os.unlink(out)
    return wall, cpu, rss, code, doc
