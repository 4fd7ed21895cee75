"""Fixtures for riptide's integration tests: real S3 servers on 127.0.0.1.

Each test class starts its own server (moto_server or s3rver, chosen by
RIPTIDE_TEST_SERVER) at a free port and stops it afterwards. A server that cannot
start fails the test loudly: nothing here is mocked.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.config import Config

ROOT = os.environ.get("RIPTIDE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("RIPTIDE_BIN", os.path.join(ROOT, "build", "riptide"))
SERVER = os.environ.get("RIPTIDE_TEST_SERVER", "moto")
S3RVER = os.path.join(ROOT, "scripts", "s3rver", "node_modules", ".bin", "s3rver")


def unused_port():
    """A port nothing listens on now. Racy (another process may take it before its user
    binds it): only for daemons that cannot bind port 0 and report it (Slurm's)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RefusedPort:
    """A loopback port bound but not listening while the `with` lasts: a connection to it is
    refused, and no other process can take it meanwhile."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


def bound_port(proc, log_path, pattern, what, timeout=60):
    """The port a process started with port 0 reports in its log (the first group of
    `pattern`), read once it says so: no port is chosen before the process binds it."""
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while True:
        with open(log_path, "rb") as f:
            m = regex.search(f.read().decode(errors="replace"))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode}) before it listened; see {log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not report a listening port within {timeout} s; see {log_path}")
        time.sleep(0.02)


class S3Server:
    """One S3 server process on 127.0.0.1; `kind` is "moto" or "s3rver"."""

    def __init__(self, kind, env=None, tls=None):
        """tls: (certificate file, key file) to serve HTTPS (moto only)."""
        self.kind = kind
        self.tmp = tempfile.mkdtemp(prefix=f"riptide-{kind}-")
        self.log = open(os.path.join(self.tmp, "server.log"), "wb")
        full_env = dict(os.environ, **(env or {}))
        if kind == "moto":
            cmd = [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", "0"]
            if tls:
                cmd += ["-s", "-c", tls[0], "-k", tls[1]]
            self.access_key, self.secret_key = "riptide-test", "riptide-test-secret"
            listening = r"Running on https?://127\.0\.0\.1:(\d+)"
        elif kind == "s3rver":
            if not os.path.exists(S3RVER):
                raise RuntimeError(f"s3rver is not installed at {S3RVER}: run scripts/setup.sh")
            # s3rver encrypts continuation tokens with DES, which Node 20 hides behind this flag.
            full_env["NODE_OPTIONS"] = "--openssl-legacy-provider"
            cmd = [S3RVER, "-d", os.path.join(self.tmp, "store"), "-a", "127.0.0.1", "-p", "0", "-s"]
            self.access_key, self.secret_key = "S3RVER", "S3RVER"
            listening = r"S3rver listening on 127\.0\.0\.1:(\d+)"
        else:
            raise RuntimeError(f"unknown server kind {kind}")
        os.makedirs(os.path.join(self.tmp, "store"), exist_ok=True)
        # Port 0: the server binds a port of the kernel's choosing and prints it, so two
        # suites started at once (ctest -j) can never race for the same one.
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        try:
            self.port = bound_port(self.proc, self.log.name, listening, kind)
        except RuntimeError:
            self.stop()
            raise
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def seed_store(self, bucket, objects):
        """s3rver only: writes objects the way a PUT stores them, far faster than PUTs.
        The bucket must exist already."""
        assert self.kind == "s3rver"
        for key, data in objects.items():
            path = os.path.join(self.tmp, "store", bucket, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + "._S3rver_object", "wb") as f:
                f.write(data)
            with open(path + "._S3rver_object.md5", "w") as f:
                f.write(hashlib.md5(data).hexdigest())
            with open(path + "._S3rver_metadata.json", "w") as f:
                f.write('{"content-type": "application/octet-stream"}')

    def client(self, access_key=None, secret_key=None, verify=None, checksums=True):
        """boto3 for this server. checksums=False: no checksum of boto3's own (it adds CRC32
        to each upload unless told not to), so what it uploads is proved by its MD5 alone."""
        extra = {} if checksums else {"request_checksum_calculation": "when_required"}
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", verify=verify,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, **extra))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def riptide(*args, env=None, server=None, timeout=300, clean_env=False):
    """Runs the riptide binary; returns the CompletedProcess (text mode)."""
    base = {} if clean_env else dict(os.environ)
    base.pop("AWS_PROFILE", None)
    if clean_env:
        base["PATH"] = os.environ.get("PATH", "")
    if server is not None:
        base["AWS_ACCESS_KEY_ID"] = server.access_key
        base["AWS_SECRET_ACCESS_KEY"] = server.secret_key
    base.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=base, timeout=timeout)


def run_on_terminal(cmd, env, timeout=60):
    """Runs cmd with stderr on a pseudo-terminal (a person's screen): (returncode, stdout
    bytes, the redrawn lines of stderr, split where the line is cleared)."""
    import pty
    primary, secondary = pty.openpty()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the last writer
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out, [line.decode() for line in re.split(rb"\r\x1b\[K", seen) if line.strip()]


def tree(root):
    """{relative path: bytes} of every file under root, the state directory left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and ".riptide" in dirnames:
            dirnames.remove(".riptide")
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def manifest_rows(dataset):
    db = sqlite3.connect(os.path.join(dataset, ".riptide", "manifest.db"))
    try:
        return {r[0]: r[1:] for r in db.execute("SELECT key, size, etag, verified_by, xxh3 FROM objects")}
    finally:
        db.close()


def journalled_parts(dataset, key=None, like=None):
    """How many parts the part journal records (of `key`, of the keys matching the SQL
    pattern `like`, or of every object): read-only, beside a riptide that may be writing it."""
    db = os.path.join(dataset, ".riptide", "manifest.db")
    if not os.path.exists(db):
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        if key is not None:
            return conn.execute("SELECT count(*) FROM partial_parts WHERE key = ?", (key,)).fetchone()[0]
        if like is not None:
            return conn.execute("SELECT count(*) FROM partial_parts WHERE key LIKE ?", (like,)).fetchone()[0]
        return conn.execute("SELECT count(*) FROM partial_parts").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not there yet
        return 0
    finally:
        conn.close()


def wait_until(condition, what, timeout=60):
    """Polls `condition` (observable state, never a fixed sleep) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.01)


def md5(data):
    return hashlib.md5(data).hexdigest()


def _crc_table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC64NVME, _CRC32C = _crc_table(0x9A6C9329AC4BC9B5), _crc_table(0x82F63B78)


def _crc(data, table, width):
    mask = (1 << width) - 1
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return base64.b64encode((c ^ mask).to_bytes(width // 8, "big")).decode()


def crc64nvme(data):
    """The x-amz-checksum-crc64nvme text of `data` (botocore needs awscrt for it)."""
    return _crc(data, _CRC64NVME, 64)


def crc32c(data):
    return _crc(data, _CRC32C, 32)


class ServerTestCase(unittest.TestCase):
    """A test class with one server for all its tests and a fresh bucket per test."""

    server_kind = SERVER
    server_env = None

    @classmethod
    def setUpClass(cls):
        cls.server = S3Server(cls.server_kind, cls.server_env)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="riptide-test-")
        self.dataset = os.path.join(self.tmp, "dataset")
        self.s3 = self.server.client()
        self.bucket = "b" + hashlib.md5(self.id().encode()).hexdigest()[:12]
        self.s3.create_bucket(Bucket=self.bucket)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def put(self, objects):
        for key, body in objects.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def sync(self, url_suffix="", *extra, dataset=None, env=None):
        args = ["sync", f"s3://{self.bucket}{url_suffix}", dataset or self.dataset,
                "--endpoint", self.server.endpoint, "--json", *extra]
        p = riptide(*args, server=self.server, env=env)
        try:
            summary = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else None
        except json.JSONDecodeError:
            summary = None
        return p, summary
