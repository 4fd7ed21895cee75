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


if __name__ == "__main__":
    unittest.main()
