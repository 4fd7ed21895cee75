"""S3 additional checksums: an object that carries a full-object checksum is proved by it
(CRC64NVME and CRC32C in hardware, no MD5), a wrong one fails it, and riptide's own
uploads attach a CRC64NVME that later downloads verify (moto stores what it is sent;
s3rver stores no checksums)."""
import json
import os
import unittest

from fault_proxy import Rule
from support import crc32c, crc64nvme, manifest_rows, md5, riptide, tree
from test_multipart import MiB, ProxyTestCase, body


class ChecksumTest(ProxyTestCase):
    moto_only_because = "s3rver stores no additional checksums (it ignores x-amz-checksum-*)"

    def run_sync(self, *extra):
        p = super().run_sync(*extra)
        return p, json.loads(p.stdout)

    def put_with(self, key, data, algorithm, value):
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm,
                           **{f"Checksum{algorithm}": value})

    def test_each_checksum_proves_its_object_without_md5(self):
        objects = {}
        for algorithm in ("CRC32", "SHA1", "SHA256"):
            key = f"m/{algorithm.lower()}.bin"
            objects[key] = body(300_000, len(algorithm))
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=objects[key], ChecksumAlgorithm=algorithm)
        objects["m/crc64nvme.bin"] = body(300_001, 64)
        self.put_with("m/crc64nvme.bin", objects["m/crc64nvme.bin"], "CRC64NVME", crc64nvme(objects["m/crc64nvme.bin"]))
        objects["m/crc32c.bin"] = body(299_999, 32)
        self.put_with("m/crc32c.bin", objects["m/crc32c.bin"], "CRC32C", crc32c(objects["m/crc32c.bin"]))
        p, summary = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in objects.items()})
        rows = manifest_rows(self.dataset)
        self.assertEqual({k: r[2] for k, r in rows.items()},
                         {f"m/{a}.bin": a for a in ("crc32", "sha1", "sha256", "crc64nvme", "crc32c")})
        self.assertEqual(summary["checksum_verified"], 5)

    def test_a_crc_vouches_where_the_etag_is_no_md5(self):
        # The GET says an ETag that is no MD5 of the bytes (as a KMS-encrypted object's):
        # the object's own CRC64NVME proves it, and no MD5 is asked of it.
        data = body(200_000, 7)
        self.put_with("m/k.bin", data, "CRC64NVME", crc64nvme(data))
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "k.bin" in path, "header", times=1000,
                            header=("ETag", '"0123456789abcdef0123456789abcdef"')))
        p, summary = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"k.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/k.bin"][2], "crc64nvme")
        self.assertEqual(summary["checksum_verified"], 1)

    def test_a_wrong_crc_is_a_failure_not_a_file(self):
        for algorithm, fn, wrong in (("CRC64NVME", crc64nvme, "AAAAAAAAAAA="), ("CRC32C", crc32c, "AAAAAA==")):
            with self.subTest(algorithm):
                key = f"m/{algorithm}.bin"
                data = b"checked content " + algorithm.encode()
                self.put_with(key, data, algorithm, fn(data))
                # Right bytes, right MD5, wrong checksum header: only the checksum can tell.
                self.proxy.clear()
                self.proxy.add(Rule(lambda m, path, h, key=key: m == "GET" and key in path, "header", times=1000,
                                    header=(f"x-amz-checksum-{algorithm.lower()}", wrong)))
                p, summary = self.run_sync("--retries", "1")
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual([f["key"] for f in summary["failures"]], [key])
                self.assertIn(algorithm, summary["failures"][0]["reason"])
                self.assertNotIn(f"{algorithm}.bin", tree(self.dataset))

    def test_a_checksum_told_about_part_one_is_not_taken_for_the_whole(self):
        # S3 answers HEAD ?partNumber=1 with that part's checksum: taken for the object's,
        # it would fail a good download. The parts' MD5s prove it instead.
        data = self.upload_multipart("m/parts.bin", [body(5 * MiB, 1), body(5 * MiB, 2)])
        self.proxy.add(Rule(lambda m, path, h: m == "HEAD" and "partNumber=1" in path, "header", times=1000,
                            header=("x-amz-checksum-crc32c", crc32c(data[:5 * MiB]))))
        p, summary = self.run_sync("--part-size", "4M", "--retries", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"parts.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/parts.bin"][2], "md5-parts")
        self.assertEqual(summary["checksum_verified"], 0)
        self.assertTrue([e for e in self.proxy.requests_for("partNumber=1", method="HEAD")])

    def test_uploads_carry_a_crc64nvme_that_downloads_verify(self):
        src = os.path.join(self.tmp, "src")
        os.makedirs(src)
        files = {f"f{i}.bin": body(1000 + 977 * i, i) for i in range(6)}
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        p = riptide("sync", src, f"s3://{self.bucket}/m", "--endpoint", self.server.endpoint, "--json",
                    server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        for name, data in files.items():
            head = self.s3.head_object(Bucket=self.bucket, Key=f"m/{name}", ChecksumMode="ENABLED")
            self.assertEqual(head.get("ChecksumCRC64NVME"), crc64nvme(data), name)
            self.assertEqual(head["ETag"].strip('"'), md5(data))
        p, summary = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), files)
        self.assertEqual({r[2] for r in manifest_rows(self.dataset).values()}, {"crc64nvme"})
        self.assertEqual(summary["checksum_verified"], len(files))

    def test_a_multipart_upload_names_the_whole_objects_crc64nvme(self):
        # Each part carries its CRC64NVME and Complete the whole object's (FULL_OBJECT),
        # joined from the parts' values: S3 checks it against what it assembled.
        src = os.path.join(self.tmp, "src")
        os.makedirs(src)
        data = body(13 * MiB + 5, 9)
        with open(os.path.join(src, "big.bin"), "wb") as f:
            f.write(data)
        p = riptide("sync", src, f"s3://{self.bucket}/m", "--endpoint", self.proxy.endpoint, "--part-size", "5M",
                    "--multipart-threshold", "5M", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        log = [e for e in self.proxy.log if "big.bin" in e.path]
        create = [e for e in log if e.method == "POST" and "uploads" in e.path]
        self.assertEqual([(e.headers.get("x-amz-checksum-algorithm"), e.headers.get("x-amz-checksum-type"))
                          for e in create], [("CRC64NVME", "FULL_OBJECT")])
        parts = {int(e.path.split("partNumber=")[1].split("&")[0]): e.headers.get("x-amz-checksum-crc64nvme")
                 for e in log if e.method == "PUT" and "partNumber=" in e.path}
        cut = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
        self.assertEqual(parts, {i + 1: crc64nvme(c) for i, c in enumerate(cut)})
        complete = [e for e in log if e.method == "POST" and "uploadId=" in e.path]
        self.assertEqual(len(complete), 1)
        self.assertEqual(complete[0].headers.get("x-amz-checksum-crc64nvme"), crc64nvme(data))
        self.assertEqual(complete[0].headers.get("x-amz-checksum-type"), "FULL_OBJECT")
        self.assertEqual(complete[0].body.count(b"<ChecksumCRC64NVME>"), len(cut))
        for c in cut:
            self.assertIn(f"<ChecksumCRC64NVME>{crc64nvme(c)}</ChecksumCRC64NVME>".encode(), complete[0].body)
        # moto without awscrt stores a CRC32 under the CRC64NVME name: 4 bytes, no
        # CRC64NVME. A download must not take it for one; the parts' MD5s prove the object.
        stored = self.s3.head_object(Bucket=self.bucket, Key="m/big.bin", ChecksumMode="ENABLED")
        p, summary = self.run_sync("--part-size", "4M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"big.bin": data})
        proof = "crc64nvme" if stored.get("ChecksumCRC64NVME") == crc64nvme(data) else "md5-parts"
        self.assertEqual(manifest_rows(self.dataset)["m/big.bin"][2], proof)

    def put_large(self, key, data):
        # One PUT with its CRC64NVME (moto keeps what it is sent), downloaded in ranges.
        self.put_with(key, data, "CRC64NVME", crc64nvme(data))

    def test_a_ranged_download_asks_the_objects_checksum_and_is_proved_by_it(self):
        data = body(9 * MiB + 3, 4)
        self.put_large("m/ranged.bin", data)
        p, summary = self.run_sync("--part-size", "2M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"ranged.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/ranged.bin"][2], "crc64nvme")
        self.assertEqual(summary["checksum_verified"], 1)
        heads = self.proxy.requests_for("ranged.bin", method="HEAD")
        self.assertEqual([e.path for e in heads if "partNumber" not in e.path and "?" not in e.path],
                         [e.path for e in heads])
        self.assertEqual(len(heads), 1)
        self.assertGreaterEqual(len(self.proxy.requests_for("ranged.bin")), 5)

    def test_a_checksum_told_after_the_first_bytes_is_proved_without_fetching_again(self):
        # The HEAD that asks the checksum answers after the parts have begun to land: the
        # object's stream hasher was made without it and cannot vouch for the object. Its
        # digest must not reach verify (a CRC of "" against the object's would fetch it all
        # again); verify reads the file once with the checksum instead.
        data = body(9 * MiB + 3, 6)
        self.put_large("m/late.bin", data)
        self.proxy.add(Rule(lambda m, path, h: m == "HEAD" and "late.bin" in path, "delay", times=1000,
                            seconds=1.5))
        p, summary = self.run_sync("--part-size", "2M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"late.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/late.bin"][2], "crc64nvme")
        self.assertEqual(summary["retries"], 0)
        self.assertEqual(len(self.proxy.requests_for("late.bin")), 5)

    def test_a_wrong_checksum_from_the_head_fails_a_ranged_download(self):
        data = body(6 * MiB, 5)
        self.put_large("m/lied.bin", data)
        self.proxy.add(Rule(lambda m, path, h: m == "HEAD" and "lied.bin" in path, "header", times=1000,
                            header=("x-amz-checksum-crc64nvme", crc64nvme(data[1:]))))
        p, summary = self.run_sync("--part-size", "2M", "--retries", "1")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual([f["key"] for f in summary["failures"]], ["m/lied.bin"])
        self.assertIn("CRC64NVME", summary["failures"][0]["reason"])
        self.assertNotIn("lied.bin", tree(self.dataset))

    def test_a_head_about_another_version_tells_nothing_about_this_one(self):
        # The HEAD answers for an object replaced since the listing (another ETag): its
        # checksum is not taken for the bytes the If-Match GETs bring.
        data = body(5 * MiB, 6)
        self.put_large("m/moved.bin", data)
        self.proxy.add(Rule(lambda m, path, h: m == "HEAD" and "moved.bin" in path, "header", times=1000,
                            header=("ETag", '"0123456789abcdef0123456789abcdef"')))
        p, summary = self.run_sync("--part-size", "2M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"moved.bin": data})
        self.assertEqual(manifest_rows(self.dataset)["m/moved.bin"][2], "md5")

    def test_a_server_that_tells_no_checksums_is_asked_only_a_few_times(self):
        objects = {f"m/n{i:02}.bin": body(3 * MiB + i, 40 + i) for i in range(12)}
        for key, data in objects.items():
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        # boto3 attaches a CRC32 by default: the proxy takes it out of every answer.
        self.proxy.add(Rule(lambda m, path, h: True, "header", times=10_000, header=("x-amz-checksum-crc32",)))
        p, summary = self.run_sync("--part-size", "1M", "--concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tree(self.dataset)), 12)
        self.assertEqual({r[2] for r in manifest_rows(self.dataset).values()}, {"md5"})
        self.assertEqual(len([e for e in self.proxy.log if e.method == "HEAD"]), 8)

    def test_a_server_that_tells_checksums_is_asked_about_every_ranged_object(self):
        # Past the 8 HEADs that give up on a server telling none: once one told a checksum,
        # every ranged object is asked, and each is proved by its own.
        objects = {f"m/t{i:02}.bin": body(3 * MiB + i, 80 + i) for i in range(11)}
        for key, data in objects.items():
            self.put_large(key, data)
        p, summary = self.run_sync("--part-size", "1M", "--concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tree(self.dataset)), 11)
        self.assertEqual({r[2] for r in manifest_rows(self.dataset).values()}, {"crc64nvme"})
        self.assertEqual(summary["checksum_verified"], 11)

    def write_sources(self, files):
        src = os.path.join(self.tmp, "src")
        os.makedirs(src, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        return src

    def refuse_checksums(self, also=lambda m, path: True):
        # What a server without CRC64NVME answers to a request that carries one (asking
        # for an object's checksums with x-amz-checksum-mode is no such request).
        def carries(h):
            return any(k.lower().startswith(("x-amz-checksum", "x-amz-sdk-checksum")) and k.lower() != "x-amz-checksum-mode"
                       for k in h)
        self.proxy.add(Rule(lambda m, path, h: carries(h) and also(m, path), "status", times=10_000, status=400,
                            code="InvalidRequest", message="The checksum algorithm CRC64NVME is not supported"))

    def assert_landed(self, files):
        for name, data in files.items():
            got = self.s3.get_object(Bucket=self.bucket, Key=f"m/{name}")["Body"].read()
            self.assertEqual(got, data, name)
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []), [])

    def test_a_destination_that_refuses_checksums_gets_the_objects_without_them(self):
        files = {f"f{i}.bin": body(3000 + i, 60 + i) for i in range(8)}
        files["big.bin"] = body(11 * MiB, 70)
        src = self.write_sources(files)
        self.refuse_checksums()
        p = riptide("sync", src, f"s3://{self.bucket}/m", "--endpoint", self.proxy.endpoint, "--concurrency", "1",
                    "--part-size", "5M", "--multipart-threshold", "5M", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_landed(files)
        # Refused once, said once, and no later request carries a checksum.
        self.assertEqual(len([e for e in self.proxy.log if e.status == 400]), 1)
        self.assertEqual(len([line for line in p.stderr.splitlines() if "refuses CRC64NVME" in line]), 1, p.stderr)

    def test_a_part_refused_for_its_checksum_starts_the_object_over_without(self):
        files = {"big.bin": body(11 * MiB, 71)}
        src = self.write_sources(files)
        self.refuse_checksums(lambda m, path: m == "PUT" and "partNumber=" in path)
        p = riptide("sync", src, f"s3://{self.bucket}/m", "--endpoint", self.proxy.endpoint, "--part-size", "5M",
                    "--multipart-threshold", "5M", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_landed(files)
        creates = [e for e in self.proxy.log if e.method == "POST" and "uploads" in e.path]
        self.assertEqual([e.headers.get("x-amz-checksum-algorithm") for e in creates], ["CRC64NVME", None])
        aborts = [e for e in self.proxy.log if e.method == "DELETE" and "uploadId=" in e.path]
        self.assertEqual(len(aborts), 1)
        # The refused upload is aborted before the object starts over, not left to the
        # run's end.
        self.assertLess(self.proxy.log.index(aborts[0]), self.proxy.log.index(creates[1]))


if __name__ == "__main__":
    unittest.main()
