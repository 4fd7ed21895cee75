"""--bwlimit against a real S3 server: downloads and uploads take at least as long as the
limit says (never less: a rate limiter that lets bytes through early is broken), UP:DOWN
limits each direction alone, and a bad limit is one clear error before anything starts."""
import os
import time
import unittest

from support import ServerTestCase, riptide, tree
from serve_support import Service

MiB = 1 << 20


class BandwidthTest(ServerTestCase):
    def timed(self, *args):
        t0 = time.monotonic()
        p = riptide(*args, "--endpoint", self.server.endpoint, server=self.server)
        return p, time.monotonic() - t0

    def test_downloads_and_uploads_keep_to_the_limit(self):
        body = os.urandom(3 * MiB)
        self.put({"bw/a.bin": body[: MiB + MiB // 2], "bw/b.bin": body[MiB + MiB // 2:]})
        # 3 MiB at 1 MiB/s: the bucket starts empty and holds a quarter second at most.
        p, seconds = self.timed("sync", f"s3://{self.bucket}/bw", self.dataset, "--bwlimit", "1M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(seconds, 2.6)
        self.assertEqual(tree(self.dataset), {"a.bin": body[: MiB + MiB // 2], "b.bin": body[MiB + MiB // 2:]})
        # Only uploads limited: the download half is free, the upload is held to 1 MiB/s.
        p, seconds = self.timed("cp", self.dataset + "/a.bin", f"s3://{self.bucket}/up/a.bin", "--bwlimit",
                                "1M:off")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(seconds, 1.2)
        got = self.s3.get_object(Bucket=self.bucket, Key="up/a.bin")["Body"].read()
        self.assertEqual(got, body[: MiB + MiB // 2])
        # A download limit does not slow an upload.
        p, seconds = self.timed("cp", self.dataset + "/b.bin", f"s3://{self.bucket}/up/b.bin", "--bwlimit",
                                "off:64K")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(seconds, 10)

    def test_a_bad_limit_is_one_clear_error(self):
        for bad, says in [("10X", "unknown unit"), ("25:00,1M", "HH:MM,RATE"), ("100", "below 1K/s")]:
            p, _ = self.timed("sync", f"s3://{self.bucket}/bw", self.dataset, "--bwlimit", bad)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(says, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertFalse(os.path.exists(self.dataset))

    def test_the_service_limit_is_shared_by_its_jobs(self):
        self.put({"one/a.bin": os.urandom(3 * MiB // 2), "two/b.bin": os.urandom(3 * MiB // 2)})
        state = os.path.join(self.tmp, "state")
        jobs = "".join(f"  - name: {n}\n    source: s3://{self.bucket}/{n}\n    destination: {self.tmp}/{n}\n"
                       f"    endpoint: {self.server.endpoint}\n" for n in ("one", "two"))
        svc = Service(self, f"state_dir: {state}\nbwlimit: 1M\njobs:\n{jobs}")
        try:
            t0 = time.monotonic()
            for name in ("one", "two"):  # both start at once (startup runs)
                status, job = svc.get(f"/jobs/{name}")
                svc.wait_run(job["running_run"] or job["queued_run"] or job["last_run"]["id"])
            # 3 MiB through one 1 MiB/s limit, not 1.5 MiB through each of two.
            self.assertGreaterEqual(time.monotonic() - t0, 2.6)
            self.assertEqual(len(tree(os.path.join(self.tmp, "one"))), 1)
            self.assertEqual(svc.stop(), 0)
        finally:
            if svc.proc.poll() is None:
                svc.proc.kill()
                svc.proc.wait()


if __name__ == "__main__":
    unittest.main()
