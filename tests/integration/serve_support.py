"""Fixtures for the tests of `riptide serve`: one service process on a loopback port of
the kernel's choosing, HTTP helpers, and a test case with a bucket the service mirrors."""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from support import BIN, ServerTestCase, bound_port, wait_until

HOSTILE_KEY = "data/<img src=x onerror=alert(1)>.txt"


def http(method, url, token=None, body=None, timeout=10):
    """(status, parsed JSON or text) of one request."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text, ctype = r.status, r.read().decode(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, text, ctype = e.code, e.read().decode(), e.headers.get("Content-Type", "")
    return status, json.loads(text) if ctype.startswith("application/json") else text


class Service:
    """One `riptide serve` process on a loopback port of the kernel's choosing."""

    started = 0

    def __init__(self, case, config_text, env=None, listen="127.0.0.1", keys_in_env=True, wrapper=()):
        """wrapper: a command line to run riptide under (strace, for one)."""
        self.case = case
        self.config = os.path.join(case.tmp, "serve.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        Service.started += 1
        self.log_path = os.path.join(case.tmp, f"serve-{Service.started}.log")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if keys_in_env:
            self.env.update(AWS_ACCESS_KEY_ID=case.server.access_key, AWS_SECRET_ACCESS_KEY=case.server.secret_key)
        self.env.update(env or {})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*wrapper, BIN, "serve", "--config", self.config, "--listen", f"{listen}:0"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        try:
            self.port = bound_port(self.proc, self.log_path, r"listening on http://\S+:(\d+) with", "riptide serve", 30)
        except RuntimeError as e:
            raise AssertionError(f"{e}: {self.output()}") from None
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(self.healthy, "riptide serve to answer /healthz", 30)

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"riptide serve exited with {self.proc.returncode}: {self.output()}")
        try:
            return http("GET", self.url + "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def get(self, path, token=None):
        return http("GET", self.url + path, token)

    def post(self, path, token=None, body="{}"):
        return http("POST", self.url + path, token, body)

    def wait_run(self, run_id, timeout=60, token=None,
                 states=("ok", "partial", "failed", "interrupted", "cancelled")):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, run = self.get(f"/runs/{run_id}", token)
            if status == 200 and run["state"] in states:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not end within {timeout} s: {self.get(f'/runs/{run_id}')}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"riptide serve did not stop within {timeout} s after a signal")
        self.log.close()
        return self.proc.returncode


def kill_services(services):
    """Ends every service a test started that is still running."""
    for s in services:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


class ServeTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.tmp, "state")
        self.services = []
        self.put({"data/a.txt": b"alpha", "data/b/c.bin": os.urandom(70000), HOSTILE_KEY: b"evil"})

    def tearDown(self):
        kill_services(self.services)
        super().tearDown()

    def config(self, extra_job="", extra_top="", endpoint=None, bucket=None):
        return (f"listen: 127.0.0.1:8080\n"
                f"state_dir: {self.state}\n"
                f"{extra_top}"
                f"jobs:\n"
                f"  - name: datasets\n"
                f"    source: s3://{bucket or self.bucket}/data\n"
                f"    destination: {self.dataset}\n"
                f"    endpoint: {endpoint or self.server.endpoint}\n"
                f"{extra_job}")

    def start(self, text, **kw):
        s = Service(self, text, **kw)
        self.services.append(s)
        return s

    def first_run(self, svc):
        """The startup run of a job never synced."""
        status, job = svc.get("/jobs/datasets")
        self.assertEqual(status, 200, job)
        run_id = job["running_run"] or job["queued_run"] or job["last_run"]["id"]
        return svc.wait_run(run_id)
