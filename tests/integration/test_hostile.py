"""A hostile server (tests/integration/hostile_server.py) answering what no real S3 does:
each case ends with a clear exit code, within a time limit and a peak RSS, and leaves
nothing outside the dataset directory (#19). The fault proxy in front of moto and s3rver
covers what a real answer, altered, can show (test_malformed, test_faults)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from hostile_server import Answer, HostileServer, listing
from support import BIN

MiB = 1 << 20


class HostileServerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="riptide-hostile-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.outer = os.path.join(self.tmp, "outer")
        os.makedirs(self.outer)
        self.dataset = os.path.join(self.outer, "data")

    def serve(self, script):
        server = HostileServer(script)
        self.addCleanup(server.stop)
        return server

    def run_riptide(self, server, *args, limit_s=60):
        """(process, wall seconds, peak RSS in MiB) of `riptide ARGS` against `server`."""
        env = {"PATH": os.environ.get("PATH", ""), "HOME": self.tmp, "AWS_ACCESS_KEY_ID": "hostile-test",
               "AWS_SECRET_ACCESS_KEY": "hostile-test-secret", "XDG_STATE_HOME": os.path.join(self.tmp, "state")}
        started = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "riptide-maxrss=%M", BIN, *args, "--endpoint", server.endpoint],
                           env=env, capture_output=True, text=True, timeout=limit_s + 60)
        wall = time.monotonic() - started
        lines = [line for line in p.stderr.splitlines() if not line.startswith("Command exited with")]
        rss = int(lines[-1].split("=")[1]) / 1024
        p.stderr = "\n".join(lines[:-1])
        self.assertLess(wall, limit_s, p.stderr)
        return p, wall, rss

    def assert_nothing_outside(self):
        self.assertEqual([n for n in os.listdir(self.outer) if n != "data"], [])

    def assert_one_line_exit_2(self, p, *phrases):
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        for phrase in phrases:
            self.assertIn(phrase, p.stderr)

    def test_xml_nested_without_end_is_refused_at_once(self):
        """Row 4: 15 MB of <a><a><a>… once drove RSS to 3 GB and 22 CPU-s, six times over."""
        body = b'<?xml version="1.0"?><ListBucketResult>' + b"<a>" * (5 * MiB)
        server = self.serve(lambda m, path, h: Answer(body=body))
        p, wall, rss = self.run_riptide(server, "sync", "s3://b/p", self.dataset, "--retries", "2", limit_s=30)
        self.assert_one_line_exit_2(p, "nested deeper than")
        # Retried as any garbled answer is, within --retries: each attempt costs little now.
        self.assertEqual(len(server.requests("list-type=2")), 3)
        self.assertLess(rss, 150)
        self.assert_nothing_outside()

    def test_a_page_beyond_max_keys_is_refused_not_held(self):
        """Row 6: one page of 200,000 keys (S3 sends at most 1,000) is refused as it is read."""
        body = listing(f"p/{i:07d}" for i in range(200_000))
        server = self.serve(lambda m, path, h: Answer(body=body))
        for args in (["sync", "s3://b/p", self.dataset], ["ls", "s3://b/p/"]):
            p, wall, rss = self.run_riptide(server, *args, "--retries", "1", limit_s=30)
            self.assert_one_line_exit_2(p, "more than 1000 entries")
            self.assertLess(rss, 150, args)
        self.assert_nothing_outside()

    def test_a_listing_trickled_a_byte_at_a_time_meets_a_deadline(self):
        """Slowloris: 5 bytes a second never trips the stall timeout (no byte for N s), so a
        listing page has 5 x --stall-timeout in all, then is retried, then fails."""
        def drip():
            for b in listing(["p/a"]) * 1000:
                yield bytes([b])

        server = self.serve(lambda m, path, h: Answer(body=drip(), length=10 * MiB, chunk_delay=0.2))
        p, wall, rss = self.run_riptide(server, "sync", "s3://b/p", self.dataset, "--stall-timeout", "2",
                                        "--retries", "1", limit_s=40)
        self.assert_one_line_exit_2(p, "cannot list")
        self.assertEqual(len(server.requests("list-type=2")), 2)  # the first and one retry
        self.assertGreater(wall, 18)  # each attempt ran its 10 s
        self.assert_nothing_outside()

    def test_an_object_body_that_never_ends_is_cut_at_the_listed_size(self):
        """A GET without Content-Length whose body goes on for ever, for an object listed
        at 10 bytes: nothing beyond the listed size is written, and the object fails."""
        def endless():
            while True:
                yield b"x" * 65536

        def script(method, path, headers):
            if "list-type=2" in path:
                return Answer(body=listing(["p/a", "p/b"], size=10))
            return Answer(body=endless(), headers={"ETag": '"' + "0" * 32 + '"'})

        server = self.serve(script)
        p, wall, rss = self.run_riptide(server, "sync", "s3://b/p", self.dataset, "--retries", "1", limit_s=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertLess(rss, 150)
        files = [os.path.join(d, f) for d, _, fs in os.walk(self.dataset) for f in fs]
        self.assertEqual([f for f in files if "/.riptide/" not in f], [])
        self.assert_nothing_outside()


if __name__ == "__main__":
    unittest.main()
