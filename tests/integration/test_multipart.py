"""Large objects: ranged and per-part downloads, each byte verified, faults survived."""
import os
import json
import random
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, SERVER, ServerTestCase, journalled_parts, manifest_rows, md5, riptide, tree, wait_until

MiB = 1 << 20


def body(size, seed):
    return random.Random(seed).randbytes(size)


class RangedPartsTest(ServerTestCase):
    """Plain-ETag objects around part boundaries, fetched by ranges (any server)."""

    def test_sizes_at_part_boundaries(self):
        part = 256 << 10
        sizes = [0, 1, part - 1, part, part + 1, 2 * part - 1, 2 * part, 2 * part + 1, 5 * part + 77]
        objects = {f"r/size-{s}.bin": body(s, s) for s in sizes}
        self.put(objects)
        p, summary = self.sync("/r", "--part-size", str(part))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in objects.items()})
        rows = manifest_rows(self.dataset)
        for key, (size, etag, verified_by, xxh3) in rows.items():
            # Current boto3 adds a CRC32 checksum to every upload by default: a whole GET
            # carries it and it proves the object; ranged ones are proved by their MD5.
            self.assertIn(verified_by, ("md5", "crc32"), key)
            self.assertEqual(etag, md5(objects[key]))

    def test_objects_are_hashed_side_by_side_while_they_land(self):
        # Uploaded bare (no additional checksum), so their MD5s are the proof. Whole GETs
        # of 16 KiB and more and ranged objects are hashed in rounds while they land,
        # beside each other; smaller objects at verify.
        bare = self.server.client(checksums=False)
        sizes = [100 << 10] * 12 + [10 << 10] * 3 + [3 * MiB + 5, 16 << 10]
        objects = {f"h/obj-{i:02d}.bin": body(size, 100 + i) for i, size in enumerate(sizes)}
        for key, data in objects.items():
            bare.put_object(Bucket=self.bucket, Key=key, Body=data)
        p, summary = self.sync("/h", "--part-size", "1M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in objects.items()})
        self.assertEqual({row[2] for row in manifest_rows(self.dataset).values()}, {"md5"})
        self.assertEqual(summary["bytes_hashed_while_landing"], sum(s for s in sizes if s >= 16 << 10))


class ProxyTestCase(ServerTestCase):
    """moto behind the fault proxy."""

    # s3rver's multipart ETags are plain MD5s of the whole object and it knows no
    # partNumber: the md5-N cases these classes share run on moto.
    moto_only_because = "md5-N ETags and partNumber: moto only"

    @classmethod
    def setUpClass(cls):
        if SERVER != "moto":
            raise unittest.SkipTest(cls.moto_only_because)
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.proxy = FaultProxy(self.server.port)

    def tearDown(self):
        self.proxy.stop()
        super().tearDown()

    def upload_multipart(self, key, parts):
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)
        done = []
        for i, data in enumerate(parts, start=1):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=i, Body=data)
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": done})
        return b"".join(parts)

    def run_sync(self, *extra):
        return riptide("sync", f"s3://{self.bucket}/m", self.dataset, "--endpoint", self.proxy.endpoint,
                       "--json", *extra, server=self.server)


class MultipartEtagTest(ProxyTestCase):
    """md5-N objects checked by their parts; faults injected by the proxy (moto)."""

    def test_multipart_object_is_verified_by_its_parts(self):
        data = self.upload_multipart("m/three-parts.bin", [body(5 * MiB, 1), body(5 * MiB, 2), body(MiB + 7, 3)])
        single = self.upload_multipart("m/one-part.bin", [body(3 * MiB, 4)])
        etag = self.s3.head_object(Bucket=self.bucket, Key="m/three-parts.bin")["ETag"].strip('"')
        self.assertTrue(etag.endswith("-3"), etag)
        p = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"three-parts.bin": data, "one-part.bin": single})
        rows = manifest_rows(self.dataset)
        self.assertEqual(rows["m/three-parts.bin"][1:3], (etag, "md5-parts"))
        self.assertEqual(rows["m/one-part.bin"][2], "md5-parts")
        # One HEAD ?partNumber=1 learnt the part size; each byte was fetched once.
        heads = [e.path for e in self.proxy.requests_for("three-parts.bin", method="HEAD")]
        self.assertEqual(heads, [f"/{self.bucket}/m/three-parts.bin?partNumber=1"])
        self.assertEqual(self.proxy.bytes_served("three-parts.bin"), len(data))

    def test_flipped_byte_is_caught_then_fetched_again(self):
        data = self.upload_multipart("m/flip.bin", [body(5 * MiB, 5), body(2 * MiB, 6)])
        self.put({"m/small-flip.txt": b"small object content"})
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "flip.bin" in path, "flip"))
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "small-flip" in path, "flip"))
        p = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"flip.bin": data, "small-flip.txt": b"small object content"})
        self.assertEqual(len(self.proxy.requests_for("/m/flip.bin")), 2)
        self.assertEqual(manifest_rows(self.dataset)["m/flip.bin"][2], "md5-parts")

    def test_an_object_whose_etag_is_the_only_proof_is_checked_by_it(self):
        # Uploaded without an additional checksum (boto3 adds CRC32 unless told not to):
        # the MD5 in the ETag is all that can catch a flipped byte.
        bare = self.server.client(checksums=False)
        bare.put_object(Bucket=self.bucket, Key="m/etag-only.txt", Body=b"only the ETag vouches for this")
        head = self.s3.head_object(Bucket=self.bucket, Key="m/etag-only.txt", ChecksumMode="ENABLED")
        self.assertFalse([k for k in head if k.startswith("Checksum") and k != "ChecksumType"], head)
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "etag-only" in path, "flip"))
        p = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"etag-only.txt": b"only the ETag vouches for this"})
        self.assertEqual(len(self.proxy.requests_for("/m/etag-only.txt")), 2)
        self.assertEqual(manifest_rows(self.dataset)["m/etag-only.txt"][2], "md5")

    def test_always_corrupt_object_fails_and_never_lands(self):
        self.put({"m/bad.txt": b"will always arrive corrupted", "m/good.txt": b"fine"})
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "bad.txt" in path, "flip", times=1000))
        p = self.run_sync("--retries", "2")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("do not match", p.stdout)
        self.assertEqual(tree(self.dataset), {"good.txt": b"fine"})
        self.assertEqual(set(manifest_rows(self.dataset)), {"m/good.txt"})

    def test_slowdown_and_truncated_bodies_are_retried(self):
        data = self.upload_multipart("m/retry.bin", [body(5 * MiB, 7), body(5 * MiB, 8)])
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "retry.bin" in path, "status", times=3))
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "retry.bin" in path, "truncate"))
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "list-type" in path, "status", times=1,
                            status=500, code="InternalError"))
        p = self.run_sync("--part-size", "4M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"retry.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/retry.bin"][2], "md5-parts")

    def test_object_replaced_mid_download_is_fetched_whole_again(self):
        old = self.upload_multipart("m/replaced.bin", [body(5 * MiB, 9), body(5 * MiB, 10)])
        new = body(3 * MiB + 5, 11)
        # Replace the object just before its second range is served: If-Match must catch it.
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "replaced.bin" in path and
                            h.get("Range", "").startswith("bytes=4194304"), "before",
                            callback=lambda: self.s3.put_object(Bucket=self.bucket, Key="m/replaced.bin", Body=new)))
        p = self.run_sync("--part-size", "4M", "--concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotEqual(old, new)
        self.assertEqual(tree(self.dataset), {"replaced.bin": new})
        self.assertEqual(manifest_rows(self.dataset)["m/replaced.bin"][1], md5(new))
        statuses = [e.status for e in self.proxy.requests_for("replaced.bin")]
        self.assertIn(412, statuses)

    def test_ranged_parts_of_a_plain_object(self):
        data = body(3 * MiB + 1, 12)
        self.put({"m/plain.bin": data})
        p = self.run_sync("--part-size", "1M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"plain.bin": data})
        ranges = sorted(e.range for e in self.proxy.requests_for("plain.bin"))
        self.assertEqual(ranges, ["bytes=0-1048575", "bytes=1048576-2097151", "bytes=2097152-3145727",
                                  "bytes=3145728-3145728"])

    def test_without_a_part_size_only_objects_over_64_mib_go_in_parts(self):
        # Many objects in flight fill the connections better than the parts of one that
        # fits in four; past 64 MiB an object is split in the default 16 MiB parts.
        whole, split = body(20 * MiB, 13), body(64 * MiB + 1, 14)
        self.put({"m/whole.bin": whole, "m/split.bin": split})
        p = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"whole.bin": whole, "split.bin": split})
        self.assertEqual([e.range for e in self.proxy.requests_for("whole.bin")], [None])
        self.assertEqual(sorted(e.range for e in self.proxy.requests_for("split.bin")),
                         sorted(f"bytes={i * 16 * MiB}-{min((i + 1) * 16 * MiB, len(split)) - 1}" for i in range(5)))
        # A part size given is also the threshold, as before.
        self.proxy.clear()
        self.put({"m/whole.bin": body(20 * MiB, 15)})
        p = self.run_sync("--part-size", "8M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.proxy.requests_for("whole.bin")), 3)


if __name__ == "__main__":
    unittest.main()


class ResumeTest(ProxyTestCase):
    """A download killed part-way resumes with only the parts it lacks (moto)."""

    def test_killed_download_fetches_only_missing_parts(self):
        import signal
        import subprocess
        import time
        data = body(8 * MiB, 13)
        self.put({"m/big.bin": data})
        # Parts from 4 MiB on hang, so the kill lands after the first four are on disk.
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "big.bin" in path and
                            int(h.get("Range", "bytes=0-").split("=")[1].split("-")[0]) >= 4 * MiB,
                            "delay", times=1000, seconds=20))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        args = [BIN, "sync", f"s3://{self.bucket}/m", self.dataset,
                "--endpoint", self.proxy.endpoint, "--part-size", "1M", "--concurrency", "4", "--json"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            done = [e for e in self.proxy.requests_for("big.bin") if e.body_bytes == MiB]
            if len(done) >= 4:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(len(done), 4, "the first parts never arrived")
        wait_until(lambda: journalled_parts(self.dataset, "m/big.bin") >= 4, "four parts journalled", 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertFalse(os.path.exists(os.path.join(self.dataset, "big.bin")))

        self.proxy.clear()
        p = self.run_sync("--part-size", "1M", "--concurrency", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"big.bin": data})
        summary = json.loads(p.stdout)
        self.assertEqual(summary["bytes_resumed"], 4 * MiB)
        self.assertEqual(self.proxy.bytes_served("big.bin"), 4 * MiB)
        leftovers = [f for _, _, files in os.walk(self.dataset) for f in files if "riptide-tmp" in f]
        self.assertEqual(leftovers, [])


class SignalTest(ProxyTestCase):
    """SIGTERM / SIGINT: stop at once, keep what is whole, let the next run finish (moto)."""

    def interrupt(self, sig, expected_code):
        import signal
        import sqlite3
        import subprocess
        import time
        big = body(8 * MiB, 14)
        small = {f"m/s-{i:02d}": body(2000 + i, 100 + i) for i in range(20)}
        self.put({"m/big.bin": big, **small})
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "big.bin" in path and
                            int(h.get("Range", "bytes=0-").split("=")[1].split("-")[0]) >= 4 * MiB,
                            "delay", times=1000, seconds=30))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        proc = subprocess.Popen([BIN, "sync", f"s3://{self.bucket}/m", self.dataset, "--endpoint", self.proxy.endpoint,
                                 "--part-size", "1M", "--concurrency", "4"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and len([e for e in self.proxy.requests_for("big.bin") if e.body_bytes == MiB]) < 4:
            time.sleep(0.05)
        wait_until(lambda: journalled_parts(self.dataset, "m/big.bin") >= 4, "four parts journalled", 30)
        started = time.time()
        proc.send_signal(sig)
        self.assertEqual(proc.wait(timeout=15), expected_code)
        self.assertLess(time.time() - started, 5, "stalled requests must be cancelled, not waited for")
        # Whatever is under a final name is whole; the big object is not there yet.
        for name, data in tree(self.dataset).items():
            if "riptide-tmp" not in name:
                self.assertEqual(data, small["m/" + name], name)
        self.assertFalse(os.path.exists(os.path.join(self.dataset, "big.bin")))
        db = sqlite3.connect(os.path.join(self.dataset, ".riptide", "manifest.db"))
        self.assertEqual(db.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0], "interrupted")
        db.close()

        self.proxy.clear()
        p = self.run_sync("--part-size", "1M", "--concurrency", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"big.bin": big, **{k[2:]: v for k, v in small.items()}})
        self.assertEqual(json.loads(p.stdout)["bytes_resumed"], 4 * MiB)

    def test_sigterm_exits_143_and_the_next_run_resumes(self):
        import signal
        self.interrupt(signal.SIGTERM, 143)

    def test_sigint_exits_130(self):
        import signal
        self.interrupt(signal.SIGINT, 130)
