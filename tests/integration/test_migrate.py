"""Copies into a bucket: bucket to bucket (server-side and streamed, same server and
across servers), uploads of a directory, cp, plan, --delete; checked with boto3."""
import json
import os
import sys

from boto3.s3.transfer import TransferConfig

from fault_proxy import FaultProxy, Rule
from support import SERVER, S3Server, ServerTestCase, md5, riptide

MiB = 1024 * 1024


def body(n, seed=0):
    """n bytes that differ from one seed to the next."""
    block = bytes((i * 31 + seed * 7) % 251 for i in range(4096))
    return (block * (n // 4096 + 1))[:n]


class MigrateTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.dst = self.bucket + "-dst"
        self.s3.create_bucket(Bucket=self.dst)

    def run_riptide(self, *args, endpoint=None):
        p = riptide(*args, "--endpoint", endpoint or self.server.endpoint, "--json", server=self.server,
                    env={"XDG_STATE_HOME": os.path.join(self.tmp, "state")})
        summary = None
        if p.stdout.strip():
            summary = json.loads(p.stdout.strip().splitlines()[-1])
        return p, summary

    def objects(self, bucket, prefix=""):
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"][len(prefix):]] = o
        return out

    def content(self, bucket, key):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def uploads(self, bucket):
        return self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])

    def put_multipart(self, bucket, key, data, **extra):
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
        self.s3.upload_fileobj(__import__("io").BytesIO(data), bucket, key, ExtraArgs=extra or None, Config=cfg)


class BucketToBucketTest(MigrateTestCase):
    def seed(self):
        for i in range(12):
            self.s3.put_object(Bucket=self.bucket, Key=f"p/docs/{i:02}.txt", Body=body(1000 + i, i),
                               ContentType="text/plain", Metadata={"origin": f"n{i}"})
        self.s3.put_object(Bucket=self.bucket, Key="p/empty", Body=b"")
        self.s3.put_object(Bucket=self.bucket, Key="outside/x", Body=b"not under the prefix")
        self.put_multipart(self.bucket, "p/big.bin", body(12 * MiB + 5, 99),
                           ContentType="application/x-big", Metadata={"k": "v"})

    def check_copy(self):
        src, dst = self.objects(self.bucket, "p/"), self.objects(self.dst, "q/")
        self.assertEqual(sorted(src), sorted(dst))
        for rel in src:
            self.assertEqual(self.content(self.dst, "q/" + rel), self.content(self.bucket, "p/" + rel), rel)
            self.assertEqual(src[rel]["Size"], dst[rel]["Size"])
        head = self.s3.head_object(Bucket=self.dst, Key="q/docs/03.txt")
        self.assertEqual((head["ContentType"], head["Metadata"]), ("text/plain", {"origin": "n3"}))
        head = self.s3.head_object(Bucket=self.dst, Key="q/big.bin")
        self.assertEqual((head["ContentType"], head["Metadata"]), ("application/x-big", {"k": "v"}))
        if SERVER == "moto":
            # Copied with the source's own parts: the multipart ETag comes out equal.
            self.assertEqual(dst["big.bin"]["ETag"], src["big.bin"]["ETag"])
            self.assertTrue(src["big.bin"]["ETag"].endswith('-3"'))
            self.assertEqual(self.uploads(self.dst), [])

    def sync_modes(self):
        return ("server-side", "streamed")

    def test_sync_copies_then_copies_only_what_changed(self):
        self.seed()
        for mode in self.sync_modes():
            with self.subTest(mode=mode):
                self.s3.delete_objects(Bucket=self.dst, Delete={"Objects": [
                    {"Key": "q/" + k} for k in self.objects(self.dst, "q/")] or [{"Key": "none"}]})
                url_src, url_dst = f"s3://{self.bucket}/p", f"s3://{self.dst}/q"
                p, s = self.run_riptide("sync", url_src, url_dst, "--copy-mode", mode)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual((s["transferred"], s["failed"]), (14, 0))
                self.check_copy()
                # A re-run copies nothing: ETag and size match.
                p, s = self.run_riptide("sync", url_src, url_dst, "--copy-mode", mode)
                self.assertEqual((p.returncode, s["transferred"], s["skipped"]), (0, 0, 14), p.stderr)

    def test_copy_runs_show_in_status(self):
        self.seed()
        p, _ = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.dst}/q")
        self.assertEqual(p.returncode, 0, p.stderr)
        p, _ = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.dst}/q")
        self.assertEqual(p.returncode, 0, p.stderr)
        env = {"XDG_STATE_HOME": os.path.join(self.tmp, "state")}
        st = riptide("status", f"s3://{self.dst}/q", "--json", server=self.server, env=env)
        self.assertEqual(st.returncode, 0, st.stderr)
        [d] = json.loads(st.stdout)["destinations"]
        self.assertIn(f"/{self.dst}/q/", d["destination"])
        self.assertEqual([(r["status"], r["transferred"], r["skipped"]) for r in d["runs"]],
                         [("ok", 0, 14), ("ok", 14, 0)])
        st = riptide("status", f"s3://{self.dst}/q/", server=self.server, env=env)
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertIn(f"s3://{self.dst}/q/: copies into", st.stdout)
        st = riptide("status", f"s3://{self.dst}/elsewhere", server=self.server, env=env)
        self.assertEqual(st.returncode, 2)
        self.assertIn("no copy into", st.stderr)
        self.assertEqual(len(st.stderr.strip().splitlines()), 1)

    def test_changes_deletes_and_max_delete(self):
        self.seed()
        url_src, url_dst = f"s3://{self.bucket}/p", f"s3://{self.dst}/q"
        self.assertEqual(self.run_riptide("sync", url_src, url_dst)[0].returncode, 0)
        self.s3.put_object(Bucket=self.bucket, Key="p/docs/05.txt", Body=b"changed content")
        self.s3.put_object(Bucket=self.bucket, Key="p/docs/new.txt", Body=b"new")
        self.s3.delete_object(Bucket=self.bucket, Key="p/docs/07.txt")
        self.s3.put_object(Bucket=self.dst, Key="q/only-here.txt", Body=b"extra")

        out = os.path.join(self.tmp, "plan")
        p, s = self.run_riptide("plan", url_src, url_dst, "--delete", "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)

        def read(name):
            with open(os.path.join(out, name)) as f:
                return f.read().splitlines()
        self.assertEqual(read("new.txt"), ["q/docs/new.txt"])
        self.assertEqual(read("modified.txt"), ["q/docs/05.txt"])
        self.assertEqual(read("delete.txt"), ["q/docs/07.txt", "q/only-here.txt"])
        self.assertEqual((s["would_transfer"], s["would_delete"]), (2, 2))

        # Without --delete, extraneous objects stay and are counted.
        p, s = self.run_riptide("sync", url_src, url_dst)
        self.assertEqual((p.returncode, s["transferred"], s["deleted"], s["not_in_bucket"]), (0, 2, 0, 2), p.stderr)
        self.assertEqual(self.content(self.dst, "q/docs/05.txt"), b"changed content")
        # Over --max-delete: nothing deleted, exit 1.
        p, s = self.run_riptide("sync", url_src, url_dst, "--delete", "--max-delete", "1")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--max-delete", s["error"])
        self.assertIn("only-here.txt", self.objects(self.dst, "q/"))
        p, s = self.run_riptide("sync", url_src, url_dst, "--delete")
        self.assertEqual((p.returncode, s["deleted"]), (0, 2), p.stderr)
        self.assertEqual(sorted(self.objects(self.dst, "q/")), sorted(self.objects(self.bucket, "p/")))

    def test_server_side_multipart_copy_above_threshold(self):
        # A plain object above the threshold is copied part by part (UploadPartCopy), as
        # a > 5 GiB object would be.
        data = body(12 * MiB + 1, 3)
        self.s3.put_object(Bucket=self.bucket, Key="p/plain-big", Body=data)
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.dst}/q", "--copy-mode", "server-side",
                                "--multipart-threshold", "6M", "--part-size", "5M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 1)
        self.assertEqual(self.content(self.dst, "q/plain-big"), data)
        if SERVER == "moto":
            self.assertTrue(self.objects(self.dst, "q/")["plain-big"]["ETag"].endswith('-3"'))
            self.assertEqual(self.uploads(self.dst), [])
        else:  # s3rver answers UploadPartCopy with 501: the object was copied whole instead
            self.assertIn("does not implement UploadPartCopy", p.stderr)

    def test_a_destination_without_upload_part_copy_gets_whole_copies(self):
        """A server answering 501 NotImplemented to UploadPartCopy (s3rver, some gateways):
        the first object's upload is aborted and it is copied with CopyObject, and the
        objects after it go straight to CopyObject; one warning says so."""
        blobs = {f"p/big-{i}": body(7 * MiB, i) for i in range(3)}
        for key, data in blobs.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        is_part_copy = lambda m, path, h: (m == "PUT" and "partNumber=" in path  # noqa: E731
                                           and any(k.lower() == "x-amz-copy-source" for k in h))
        proxy.add(Rule(is_part_copy, "status", times=10**9, status=501, code="NotImplemented"))
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.dst}/q", "--copy-mode", "server-side",
                                "--multipart-threshold", "6M", "--part-size", "5M", "--concurrency", "2",
                                endpoint=proxy.endpoint)
        self.assertEqual((p.returncode, s["transferred"]), (0, 3), p.stderr)
        self.assertEqual(p.stderr.count("does not implement UploadPartCopy"), 1, p.stderr)
        for key, data in blobs.items():
            self.assertEqual(self.content(self.dst, "q/" + key[2:]), data)
        part_copies = [e for e in proxy.log if e.status == 501]
        self.assertLessEqual(len(part_copies), 4, "no more than the first objects' parts were tried")
        if SERVER == "moto":
            self.assertEqual(self.uploads(self.dst), [])

    def test_an_object_too_large_for_copy_object_streams_through_riptide(self):
        """No UploadPartCopy, and CopyObject refusing an object for its size (AWS does above
        5 GiB): that object's bytes stream through riptide in ranged parts instead, checked
        as any streamed copy; a smaller one is still copied on the server."""
        blobs = {"p/huge": body(12 * MiB, 1), "p/small": body(7 * MiB, 2)}
        for key, data in blobs.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        copies = lambda m, h: m == "PUT" and any(k.lower() == "x-amz-copy-source" for k in h)  # noqa: E731
        proxy.add(Rule(lambda m, path, h: copies(m, h) and "partNumber=" in path, "status", times=10**9,
                       status=501, code="NotImplemented"))
        proxy.add(Rule(lambda m, path, h: copies(m, h) and path.split("?")[0].endswith("/q/huge"), "status",
                       times=10**9, status=400, code="InvalidRequest",
                       message="The specified copy source is larger than the maximum allowable size for a copy "
                               "source: 5368709120"))
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.dst}/q", "--copy-mode", "server-side",
                                "--multipart-threshold", "6M", "--part-size", "5M", "--concurrency", "2",
                                endpoint=proxy.endpoint)
        self.assertEqual((p.returncode, s["transferred"]), (0, 2), p.stderr)
        self.assertIn("huge: too large for CopyObject without UploadPartCopy", p.stderr)
        for key, data in blobs.items():
            self.assertEqual(self.content(self.dst, "q/" + key[2:]), data)
        ranged = [e for e in proxy.log if e.method == "GET" and e.path.split("?")[0].endswith("/p/huge") and e.range]
        self.assertGreaterEqual(len(ranged), 3, "the huge object was read in parts")
        self.assertFalse([e for e in proxy.log if e.method == "GET" and "/p/small" in e.path])
        if SERVER == "moto":
            self.assertEqual(self.uploads(self.dst), [])

    def test_cp_object_prefix_and_errors(self):
        self.seed()
        p, s = self.run_riptide("cp", f"s3://{self.bucket}/p/docs/01.txt", f"s3://{self.dst}/one/")
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        self.assertEqual(self.content(self.dst, "one/01.txt"), self.content(self.bucket, "p/docs/01.txt"))
        p, s = self.run_riptide("cp", f"s3://{self.bucket}/p/big.bin", f"s3://{self.dst}/renamed.bin")
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        self.assertEqual(self.content(self.dst, "renamed.bin"), self.content(self.bucket, "p/big.bin"))
        # A prefix copies everything under it, again on every run (no diff).
        for _ in range(2):
            p, s = self.run_riptide("cp", f"s3://{self.bucket}/p/docs/", f"s3://{self.dst}/all")
            self.assertEqual((p.returncode, s["transferred"]), (0, 12), p.stderr)
        self.assertEqual(len(self.objects(self.dst, "all/")), 12)

        p, _ = self.run_riptide("cp", f"s3://{self.bucket}/p/docs", f"s3://{self.dst}/x")
        self.assertEqual(p.returncode, 2)
        self.assertIn("end SRC with /", p.stderr)
        p, _ = self.run_riptide("cp", f"s3://{self.bucket}/p/docs/01.txt", "s3://no-such-bucket-here/x")
        self.assertEqual(p.returncode, 2)
        self.assertIn("NoSuchBucket", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        p, _ = self.run_riptide("sync", f"s3://{self.bucket}/p", f"s3://{self.bucket}/p/inside")
        self.assertEqual(p.returncode, 2)
        self.assertIn("overlap", p.stderr)
        p, _ = self.run_riptide("sync", os.path.join(self.tmp, "missing"), f"s3://{self.dst}/x")
        self.assertEqual(p.returncode, 2)
        self.assertIn("No such file", p.stderr)


class UploadTest(MigrateTestCase):
    # No key is a prefix of another: s3rver lists such keys out of byte order.
    SIZES = {"x.txt": 3, "a/empty": 0, "c/c.json": 10, "a/m5": 5 * MiB - 1, "a/e5": 5 * MiB,
             "a/p5": 5 * MiB + 1, "b/e10": 10 * MiB, "b/p10": 10 * MiB + 1}
    if SERVER == "moto":
        # Local order must be key order: "a-b/…" < "a.txt" < "a/…" ('-' < '.' < '/').
        # s3rver lists such keys out of byte order, so only moto gets them.
        SIZES.update({"a.txt": 1, "a-b/d": 2})

    def make_tree(self):
        root = os.path.join(self.tmp, "up")
        for i, (rel, size) in enumerate(sorted(self.SIZES.items())):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body(size, i))
        os.makedirs(os.path.join(root, ".riptide"))  # a dataset's state: never uploaded
        with open(os.path.join(root, ".riptide", "manifest.db"), "wb") as f:
            f.write(b"state")
        os.symlink("/etc/passwd", os.path.join(root, "link"))  # skipped, never followed
        return root

    def test_upload_at_part_boundaries_then_nothing(self):
        root = self.make_tree()
        url = f"s3://{self.dst}/up"
        p, s = self.run_riptide("sync", root, url, "--part-size", "5M", "--multipart-threshold", "5M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((s["transferred"], s["failed"]), (len(self.SIZES), 0))
        got = self.objects(self.dst, "up/")
        self.assertEqual(sorted(got), sorted(self.SIZES))
        for rel in self.SIZES:
            with open(os.path.join(root, rel), "rb") as f:
                self.assertEqual(self.content(self.dst, "up/" + rel), f.read(), rel)
        if SERVER == "moto":
            parts = {rel: o["ETag"].strip('"').partition("-")[2] for rel, o in got.items()}
            # Up to the threshold one PUT; above it 5 MiB parts, the last one shorter.
            self.assertEqual(parts["a/e5"], "")
            self.assertEqual(parts["a/p5"], "2")
            self.assertEqual(parts["b/e10"], "2")
            self.assertEqual(parts["b/p10"], "3")
            with open(os.path.join(root, "a/m5"), "rb") as f:
                self.assertEqual(got["a/m5"]["ETag"].strip('"'), md5(f.read()))
            self.assertEqual(self.uploads(self.dst), [])
        head = self.s3.head_object(Bucket=self.dst, Key="up/c/c.json")
        self.assertEqual(head["ContentType"], "application/json")

        # A re-run uploads nothing, and --checksum proves it by content.
        p, s = self.run_riptide("sync", root, url, "--part-size", "5M", "--multipart-threshold", "5M")
        self.assertEqual((p.returncode, s["transferred"], s["skipped"]), (0, 0, len(self.SIZES)), p.stderr)
        if SERVER == "moto":
            p, s = self.run_riptide("sync", root, url, "--part-size", "5M", "--multipart-threshold", "5M",
                                    "--checksum")
            self.assertEqual((p.returncode, s["transferred"]), (0, 0), p.stderr)
            # Same size, same mtime, other bytes: only --checksum sees it.
            path = os.path.join(root, "x.txt")
            st = os.stat(path)
            with open(path, "wb") as f:
                f.write(b"xyz")
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            p, s = self.run_riptide("sync", root, url)
            self.assertEqual(s["transferred"], 0)
            p, s = self.run_riptide("sync", root, url, "--checksum")
            self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
            self.assertEqual(self.content(self.dst, "up/x.txt"), b"xyz")

    def test_cp_one_file(self):
        root = self.make_tree()
        p, s = self.run_riptide("cp", os.path.join(root, "b", "e10"), f"s3://{self.dst}/files/", "--part-size", "5M")
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        with open(os.path.join(root, "b", "e10"), "rb") as f:
            self.assertEqual(self.content(self.dst, "files/e10"), f.read())


class CrossServerTest(MigrateTestCase):
    """moto → s3rver through named remotes of an rclone.conf: a streamed copy."""
    server_kind = "moto"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = S3Server("s3rver")

    @classmethod
    def tearDownClass(cls):
        cls.other.stop()
        super().tearDownClass()

    def test_streamed_copy_between_servers(self):
        if SERVER != "s3rver":
            self.skipTest("runs once, in the s3rver suite")
        other = self.other.client()
        other.create_bucket(Bucket="target")
        for i in range(20):
            self.s3.put_object(Bucket=self.bucket, Key=f"p/f{i:02}", Body=body(3000 + i, i), ContentType="text/csv")
        self.put_multipart(self.bucket, "p/large", body(11 * MiB, 1), Metadata={"m": "1"})
        conf = os.path.join(self.tmp, "rclone.conf")
        with open(conf, "w") as f:
            f.write(f"# two providers\n[source]\ntype = s3\nprovider = Other\nendpoint = {self.server.endpoint}\n"
                    f"access_key_id = {self.server.access_key}\nsecret_access_key = {self.server.secret_key}\n\n"
                    f"[destination]\ntype = s3\nprovider = Minio\nendpoint = {self.other.endpoint}\n"
                    f"access_key_id = {self.other.access_key}\nsecret_access_key = \"{self.other.secret_key}\"\n")
        args = ("sync", f"source:{self.bucket}/p", "destination:target/q", "--rclone-config", conf, "--json",
                "--memory-limit", "64M")
        p = riptide(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        s = json.loads(p.stdout)
        self.assertEqual((s["transferred"], s["failed"]), (21, 0))
        for key in ["f00", "f19", "large"]:
            self.assertEqual(other.get_object(Bucket="target", Key="q/" + key)["Body"].read(),
                             self.content(self.bucket, "p/" + key), key)
        self.assertEqual(other.head_object(Bucket="target", Key="q/f03")["ContentType"], "text/csv")
        self.assertEqual(other.head_object(Bucket="target", Key="q/large")["Metadata"], {"m": "1"})
        # s3rver's multipart ETags are plain MD5s: sizes decide, and a re-run copies nothing.
        p = riptide(*args)
        s = json.loads(p.stdout)
        self.assertEqual((p.returncode, s["transferred"], s["skipped"]), (0, 0, 21), p.stderr)


if __name__ == "__main__":
    sys.exit(__import__("unittest").main())
