"""The benchmark's own helpers that decide what a row measures (perf/datasets.py): an
earlier dataset is set aside rather than deleted while the disk has room (deleting it would
charge the next client for the freed inodes on ext4 without a journal), and the file
system the header names is the one the datasets land on. And the delay line that makes
s3rver far away for `bench.py --far` (build/delay_line): every round trip pays its
latency, each connection's answers its rate, and the bytes pass untouched."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from support import S3Server, riptide

sys.path.insert(0, os.path.join(os.environ.get("RIPTIDE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "perf"))
import datasets  # noqa: E402
import delay_proxy  # noqa: E402

DELAY_LINE = delay_proxy.DELAY_LINE  # RIPTIDE_DELAY_LINE, else build/delay_line
PERF = os.path.dirname(delay_proxy.__file__)
MiB = 1 << 20


class DatasetsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="riptide-perf-tools-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def dataset(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "sub", "f.bin"), "wb") as f:
            f.write(b"x" * 100)
        return d

    def test_an_earlier_dataset_is_set_aside_while_the_disk_has_room_and_deleted_when_not(self):
        trash = os.path.join(self.tmp, "trash")
        kept = self.dataset("dest-a")
        datasets.set_aside(kept, trash, 0)
        self.assertFalse(os.path.exists(kept))
        aside = os.listdir(trash)
        self.assertEqual(len(aside), 1)
        self.assertEqual(datasets.tree_size(os.path.join(trash, aside[0])), (1, 100))

        gone = self.dataset("dest-b")
        datasets.set_aside(gone, trash, shutil.disk_usage(self.tmp).free * 4)
        self.assertFalse(os.path.exists(gone))
        self.assertEqual(len(os.listdir(trash)), 1, "a dataset the disk has no room to keep was set aside")

        datasets.set_aside(os.path.join(self.tmp, "never-made"), trash, 0)  # nothing to do
        self.assertEqual(len(os.listdir(trash)), 1)

    def test_the_file_system_named_is_the_one_the_datasets_land_on(self):
        for path in (self.tmp, "/proc/self", "/dev"):
            expected = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", path], capture_output=True,
                                      text=True, check=True).stdout.split()[0]
            fstype, _, journal = datasets.filesystem(path)
            self.assertEqual(fstype, expected, path)
            self.assertEqual(journal is None, fstype != "ext4", path)
            self.assertIn(fstype, datasets.describe(path))


class DelayLineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DELAY_LINE, os.X_OK):
            raise AssertionError(f"{DELAY_LINE} is not built")
        cls.server = S3Server("s3rver")
        cls.addClassCleanup(cls.server.stop)
        cls.server.client().create_bucket(Bucket="far")
        cls.objects = {f"o{i}.bin": os.urandom(2 * MiB) for i in range(2)}
        cls.objects["tiny/ünï code.txt"] = b"x"
        cls.server.seed_store("far", cls.objects)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="riptide-delay-line-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def through(self, line, *args):
        t0 = time.monotonic()
        p = riptide(*args, "--endpoint", line.endpoint, server=self.server)
        return p, time.monotonic() - t0

    def mirror(self, line, name, *extra):
        dest = os.path.join(self.tmp, name)
        p, wall = self.through(line, "sync", "s3://far", dest, "--json", *extra)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["transferred"], len(self.objects))
        for key, data in self.objects.items():
            with open(os.path.join(dest, key), "rb") as f:
                self.assertEqual(hashlib.md5(f.read()).hexdigest(), hashlib.md5(data).hexdigest(), key)
        return wall

    def test_every_round_trip_pays_the_latency_and_the_bytes_pass_untouched(self):
        line = delay_proxy.DelayLine(self.server.port, latency_ms=400)
        self.addCleanup(line.stop)
        p, wall = self.through(line, "ls", "s3://far", "--recursive")
        self.assertEqual(p.returncode, 0, p.stderr)
        for key in self.objects:
            self.assertIn(key, p.stdout)
        self.assertGreaterEqual(wall, 0.4, "one listing request is one round trip")
        # A listing, then the GETs side by side: two round trips at least.
        self.assertGreaterEqual(self.mirror(line, "a", "--concurrency", "8"), 0.8)
        self.assertGreaterEqual(line.cpu(), 0)

    def test_each_connection_answers_at_its_own_rate(self):
        line = delay_proxy.DelayLine(self.server.port, latency_ms=10, rate=MiB)
        self.addCleanup(line.stop)
        # Two objects of 2 MiB at once on two connections: each at 1 MiB/s, together in about
        # 2 s. One rate for the whole line would take 4.
        wall = self.mirror(line, "b", "--concurrency", "2", "--part-size", "8MiB")
        self.assertGreaterEqual(wall, 2.0)
        self.assertLess(wall, 3.5)

    def test_a_line_without_an_upstream_port_is_refused(self):
        for args in ([], ["0"], ["80", "--rate"], ["80", "--latency-ms", "-1"], ["80", "90"]):
            p = subprocess.run([DELAY_LINE, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("usage: delay_line", p.stderr)


class BenchPathsTest(unittest.TestCase):
    def test_each_round_runs_every_client_through_every_path_the_order_rotating(self):
        # Far against near is only a ratio within one server's life (perf/RESULTS.md): each
        # round runs the clients through the 30 ms line, the 0 ms line and straight to
        # s3rver, and the next round starts with the next path and the next client.
        if not os.access(DELAY_LINE, os.X_OK):
            raise AssertionError(f"{DELAY_LINE} is not built")
        tmp = tempfile.mkdtemp(prefix="riptide-bench-paths-")
        self.addCleanup(shutil.rmtree, tmp, True)
        rows_file = os.path.join(tmp, "rows.json")
        p = subprocess.run([sys.executable, os.path.join(PERF, "bench.py"), "small", "riptide", "files", "--scale", "0.001",
                            "--rounds", "3", "--far", "30,0", "--near-too", "--rate", "100000000",
                            "--workdir", tmp, "--json", rows_file], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        self.assertIn("through DelayLine: 30,0 ms, 100000000 B/s per connection, cap none; and direct", p.stdout)
        with open(rows_file) as f:
            rows = json.load(f)["rows"]
        r, f = "riptide", "curl into files, 64 in flight"
        self.assertEqual([row[0] for row in rows], [
            f"{r} 30 ms", f"{f} 30 ms", f"{r} 0 ms", f"{f} 0 ms", f"{r} direct", f"{f} direct",
            f"{f} 0 ms", f"{r} 0 ms", f"{f} direct", f"{r} direct", f"{f} 30 ms", f"{r} 30 ms",
            f"{r} direct", f"{f} direct", f"{r} 30 ms", f"{f} 30 ms", f"{r} 0 ms", f"{f} 0 ms"])
        for row in rows:
            if row[0] == f"{r} 30 ms":  # the listing, then the GETs: two round trips at least
                self.assertGreaterEqual(row[1], 0.06, row)

    def test_the_riptide_variants_rotate_too(self):
        # `auto` against fixed limits: the variant run first in a round had that round's
        # coldest memory, and it was always the same one.
        tmp = tempfile.mkdtemp(prefix="riptide-bench-variants-")
        self.addCleanup(shutil.rmtree, tmp, True)
        rows_file = os.path.join(tmp, "rows.json")
        p = subprocess.run([sys.executable, os.path.join(PERF, "bench.py"), "small", "riptide", "--scale", "0.001",
                            "--rounds", "3", "--riptide-args=--concurrency 8", "--riptide-args=--concurrency 16",
                            "--workdir", tmp, "--json", rows_file], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        with open(rows_file) as f:
            rows = json.load(f)["rows"]
        a, b = "riptide --concurrency 8", "riptide --concurrency 16"
        self.assertEqual([row[0] for row in rows], [a, b, b, a, a, b])
        for row in rows:
            self.assertIn(f"concurrency {row[0].split()[-1]}", row[7])  # each ran with its own flags


if __name__ == "__main__":
    unittest.main()
