"""Malformed server responses (bad, huge or error-bearing XML, wrong Content-Range,
missing ETags) end in a retry or a clear error, never a crash or a wrong file."""
import json
import os
import re
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, ServerTestCase, manifest_rows, tree

MiB = 1 << 20
OBJECTS = {f"m/obj-{i:02d}.bin": bytes([i]) * (1000 + i) for i in range(12)}
OBJECTS["m/big.bin"] = os.urandom(3 * MiB)


def is_list(method, path, headers):
    return method == "GET" and "list-type=2" in path


def is_ranged_get(method, path, headers):
    return method == "GET" and "big.bin" in path and "Range" in headers


class MalformedResponseTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.put(OBJECTS)
        self.proxy = FaultProxy(self.server.port)

    def tearDown(self):
        self.proxy.stop()
        super().tearDown()

    def run_sync(self, *extra):
        import subprocess
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        p = subprocess.run([BIN, "sync", f"s3://{self.bucket}/m", self.dataset, "--endpoint", self.proxy.endpoint,
                            "--json", "--page-size", "5", "--part-size", "1M", *extra],
                           env=env, capture_output=True, text=True, timeout=300)
        summary = json.loads(p.stdout) if p.stdout.strip() else None
        return p, summary

    def assert_mirrored(self, p):
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in OBJECTS.items()})

    def test_garbled_list_pages_are_retried(self):
        cut = Rule(is_list, "body", times=2, transform=lambda b: b[: len(b) // 2])
        bad_size = Rule(is_list, "body", times=1,
                        transform=lambda b: re.sub(rb"<Size>\d+</Size>", b"<Size>12x</Size>", b, count=1))
        not_xml = Rule(is_list, "body", times=1, transform=lambda b: b"<html>captive portal</html>")
        for rule in (cut, bad_size, not_xml):
            self.proxy.add(rule)
        p, summary = self.run_sync()
        self.assert_mirrored(p)
        self.assertGreaterEqual(summary["retries"], 4)

    def test_error_body_with_status_200_is_retried(self):
        self.proxy.add(Rule(is_list, "body", times=2, transform=lambda b: (
            b'<?xml version="1.0"?><Error><Code>InternalError</Code><Message>try again</Message></Error>')))
        p, summary = self.run_sync()
        self.assert_mirrored(p)
        self.assertGreaterEqual(summary["retries"], 2)

    def test_listing_that_never_parses_is_one_line_exit_2(self):
        self.proxy.add(Rule(is_list, "body", times=100, transform=lambda b: b"<ListBucketResult><Contents>"))
        p, _ = self.run_sync("--retries", "2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unreadable listing page", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertEqual(tree(self.dataset), {})

    def test_huge_listing_body_is_refused_not_buffered(self):
        self.proxy.add(Rule(is_list, "body", times=100,
                            transform=lambda b: b"<ListBucketResult>" + b" " * (70 * MiB) + b"</ListBucketResult>"))
        p, _ = self.run_sync("--retries", "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("larger than 64 MiB", p.stderr)

    def test_wrong_content_range_is_retried_then_fails_cleanly(self):
        # A total that is not the object's size: it changed, so it is fetched again whole.
        self.proxy.add(Rule(is_ranged_get, "header", times=1, header=("Content-Range", "bytes 0-9/99")))
        # A range other than the one asked for: retried.
        wrong = f"bytes 0-9/{len(OBJECTS['m/big.bin'])}"
        self.proxy.add(Rule(is_ranged_get, "header", times=1, header=("Content-Range", wrong)))
        p, summary = self.run_sync()
        self.assert_mirrored(p)
        self.assertGreaterEqual(summary["retries"], 1)

        os.remove(os.path.join(self.dataset, "big.bin"))
        self.proxy.clear()
        self.proxy.add(Rule(is_ranged_get, "header", times=1000, header=("Content-Range", wrong)))
        p, summary = self.run_sync("--retries", "2")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual([f["key"] for f in summary["failures"]], ["m/big.bin"])
        self.assertIn("another range", summary["failures"][0]["reason"])
        self.assertNotIn("big.bin", tree(self.dataset))

    def test_missing_etags(self):
        # No ETag in the listing nor on the GETs: the size is all there is to check.
        self.proxy.add(Rule(is_list, "body", times=1000, transform=lambda b: re.sub(rb"<ETag>[^<]*</ETag>", b"", b)))
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "list-type" not in path, "header", times=1000,
                            header=("ETag",)))
        p, summary = self.run_sync()
        self.assert_mirrored(p)
        rows = manifest_rows(self.dataset)
        self.assertEqual(len(rows), len(OBJECTS))
        # boto3's CRC32 still checks the whole-object GETs; nothing claims an MD5 it never had.
        self.assertEqual([k for k, r in rows.items() if r[2].startswith("md5")], [])
        self.assertEqual(summary["size_verified_only"], sum(r[2] == "size" for r in rows.values()))
        self.assertGreaterEqual(summary["size_verified_only"], 1)
        # With the ETags back, nothing is fetched again: sizes still match, and the
        # next change of content is caught by the ETag the manifest now lacks.
        self.proxy.clear()
        p, summary = self.run_sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["failed"], 0)

    def test_a_listing_that_repeats_its_continuation_token_ends(self):
        # Every page after the first is the first again: same keys, same token, for ever.
        first = []

        def replay(body):
            if not first:
                first.append(body)
            return first[0]

        self.proxy.add(Rule(is_list, "body", times=10**9, transform=replay))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        import subprocess
        # A sync keeps what its first page brought (verified) and stops early (exit 1).
        for code, args in ((1, ["sync", f"s3://{self.bucket}/m", self.dataset, "--page-size", "5"]),
                           (2, ["ls", f"s3://{self.bucket}/m/", "--page-size", "5"]),
                           (2, ["tree", f"s3://{self.bucket}/m", "--page-size", "5"]),
                           (1, ["cp", f"s3://{self.bucket}/m/", f"s3://{self.bucket}/copy/", "--page-size", "5"])):
            first.clear()
            before = len([e for e in self.proxy.log if "list-type" in e.path])
            # A second or two when the loop is caught; 30 s means it was not.
            p = subprocess.run([BIN, *args, "--endpoint", self.proxy.endpoint], env=env, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, code, (args, p.stdout[-500:], p.stderr))
            self.assertIn("repeated a continuation token", p.stderr, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            # A page or two for each key range being listed (4 by default), then it stops.
            self.assertLess(len([e for e in self.proxy.log if "list-type" in e.path]) - before, 20, args)
        for path, data in tree(self.dataset).items():
            self.assertEqual(data, OBJECTS["m/" + path])

    def test_sizes_no_object_has_are_refused_before_anything_is_planned(self):
        import subprocess
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)

        def measured(*args):
            """The run and its peak RSS in KiB (GNU time's own line taken off stderr)."""
            p = subprocess.run(["/usr/bin/time", "-f", "riptide-maxrss=%M", BIN, *args], env=env,
                               capture_output=True, text=True, timeout=60)
            lines = [line for line in p.stderr.splitlines() if not line.startswith("Command exited with")]
            rss = int(lines[-1].split("=")[1])
            p.stderr = "\n".join(lines[:-1]) + "\n"
            return p, rss

        huge = b"11529215046068469760"  # 10 EiB
        self.proxy.add(Rule(is_list, "body", times=10**9,
                            transform=lambda b: re.sub(rb"<Size>1003</Size>", b"<Size>" + huge + b"</Size>", b)))
        p, rss = measured("sync", f"s3://{self.bucket}/m", self.dataset, "--endpoint", self.proxy.endpoint,
                          "--retries", "1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("beyond the largest object S3 stores", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertLess(rss, 200 * 1024)
        # A HEAD that lies (the --key path asks HEAD, not the listing): that object fails alone.
        self.proxy.clear()
        self.proxy.add(Rule(lambda m, path, h: m == "HEAD" and "obj-03" in path, "header", times=10**9,
                            header=("Content-Length", huge.decode())))
        keyed = os.path.join(self.tmp, "keyed")
        p, rss = measured("sync", f"s3://{self.bucket}", keyed, "--endpoint", self.proxy.endpoint,
                          "--key", "m/obj-03.bin", "--key", "m/obj-04.bin", "--json")
        self.assertEqual(p.returncode, 1, p.stderr)
        summary = json.loads(p.stdout)
        self.assertEqual((summary["transferred"], summary["failed"]), (1, 1))
        self.assertIn("beyond the largest object", json.dumps(summary["failures"]))
        self.assertEqual(sorted(tree(keyed)), ["m/obj-04.bin"])
        self.assertLess(rss, 200 * 1024)
    def test_a_get_that_announces_another_size_than_listed_writes_nothing(self):
        import time
        lie = ("Content-Length", str(100 << 30))  # 100 GiB for an object listed at 1,005 bytes
        is_get = lambda m, path, h: m == "GET" and path.split("?")[0].endswith("/m/obj-05.bin")  # noqa: E731
        self.proxy.add(Rule(is_get, "header", times=1, header=lie))
        started = time.time()
        p, summary = self.run_sync()
        self.assert_mirrored(p)  # asked again (a HEAD), then fetched as it is
        self.assertLess(time.time() - started, 30)
        self.assertEqual(len([e for e in self.proxy.log if e.method == "HEAD" and "obj-05" in e.path]), 1)
        # A server that always lies: that object fails alone, quickly, and leaves no temp file.
        os.remove(os.path.join(self.dataset, "obj-05.bin"))
        self.proxy.clear()
        self.proxy.add(Rule(is_get, "header", times=10**9, header=lie))
        started = time.time()
        p, summary = self.run_sync("--retries", "2")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(summary["failed"], 1)
        self.assertLess(time.time() - started, 30)
        self.assertEqual(sorted(tree(self.dataset)), sorted(k[2:] for k in OBJECTS if k != "m/obj-05.bin"))


if __name__ == "__main__":
    unittest.main()
