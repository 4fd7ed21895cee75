"""Servers that list keys out of byte order (some sort by locale collation; s3rver walks
its store): the diff stays exact. Every listing here goes through the fault proxy, which
reverses the entries of each page, so the disorder is the same on both servers."""
import json
import os
import re
import unittest

from fault_proxy import FaultProxy, Rule
from support import ServerTestCase, riptide, tree

OBJECTS = {f"o/{name}": f"body of {name}".encode() for name in
           [f"{i:02d}" for i in range(24)] + ["a", "a-b", "a.c", "b/x", "b/y/z", "c"]}
GONE = ["o/01", "o/11", "o/23", "o/b/x"]  # deleted from the bucket after the first mirror


def reverse_entries(body):
    """A ListObjectsV2 page with its <Contents> in reverse order."""
    blocks = re.findall(rb"<Contents>.*?</Contents>", body, re.S)
    rest = iter(reversed(blocks))
    return re.sub(rb"<Contents>.*?</Contents>", lambda m: next(rest), body, flags=re.S)


class OutOfOrderListingTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.put(OBJECTS)
        self.proxy = FaultProxy(self.server.port)
        self.addCleanup(self.proxy.stop)
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "list-type=2" in path, "body", times=10**9,
                            transform=reverse_entries))

    def run_riptide(self, *args):
        p = riptide(*args, "--endpoint", self.proxy.endpoint, "--page-size", "7", server=self.server)
        out = p.stdout.strip().splitlines()
        return p, json.loads(out[-1]) if out and out[-1].startswith("{") else None

    def test_plan_and_delete_name_exactly_what_left_the_bucket(self):
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/o", self.dataset, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], len(OBJECTS))
        self.assertEqual(p.stderr.count("lists keys out of order"), 1, p.stderr)
        for key in GONE:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        # The keys passed over before the order broke, and listed later, are not gone.
        plan = os.path.join(self.tmp, "plan")
        p, _ = self.run_riptide("plan", f"s3://{self.bucket}/o", self.dataset, "--delete", "--out", plan)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(plan, "delete.txt")) as f:
            self.assertEqual(sorted(f.read().split()), GONE)
        with open(os.path.join(plan, "plan.json")) as f:
            doc = json.load(f)
        self.assertEqual((doc["delete"]["objects"], doc["complete"]), (len(GONE), True))
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/o", self.dataset, "--delete", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((s["transferred"], s["deleted"]), (0, len(GONE)))
        want = {k[2:]: v for k, v in OBJECTS.items() if k not in GONE}
        self.assertEqual(tree(self.dataset), want)
        # Once more: nothing to do, nothing deleted.
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/o", self.dataset, "--delete", "--json")
        self.assertEqual((p.returncode, s["transferred"], s["deleted"]), (0, 0, 0), p.stderr)

    def keys(self, bucket, prefix):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"][len(prefix):] for page in pages for o in page.get("Contents", []))

    def check_exact_copies(self, src, dst, dst_bucket, remove):
        """Copies into dst (a bucket prefix) from src, whose listings come reversed: the
        second run sends nothing, and after `remove` takes GONE away from the source, plan
        and --delete name exactly those."""
        p, s = self.run_riptide("sync", src, dst, "--json")
        self.assertEqual((p.returncode, s["transferred"]), (0, len(OBJECTS)), p.stderr)
        p, s = self.run_riptide("sync", src, dst, "--json")
        self.assertEqual((p.returncode, s["transferred"]), (0, 0), p.stderr)
        self.assertEqual(p.stderr.count("lists keys out of order"), 1, p.stderr)
        remove()
        plan = os.path.join(self.tmp, "plan")
        p, _ = self.run_riptide("plan", src, dst, "--delete", "--out", plan)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(plan, "delete.txt")) as f:
            self.assertEqual(sorted(f.read().split()), sorted("c/" + k[2:] for k in GONE))
        with open(os.path.join(plan, "plan.json")) as f:
            self.assertTrue(json.load(f)["complete"])
        p, s = self.run_riptide("sync", src, dst, "--delete", "--json")
        self.assertEqual((p.returncode, s["transferred"], s["deleted"]), (0, 0, len(GONE)), p.stderr)
        self.assertEqual(self.keys(dst_bucket, "c/"), sorted(k[2:] for k in OBJECTS if k not in GONE))

    def test_copies_between_buckets_are_exact(self):
        dst_bucket = self.bucket + "-dst"
        self.s3.create_bucket(Bucket=dst_bucket)

        def remove():
            for key in GONE:
                self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.check_exact_copies(f"s3://{self.bucket}/o/", f"s3://{dst_bucket}/c/", dst_bucket, remove)

    def test_uploads_are_exact(self):
        local = os.path.join(self.tmp, "local")
        for key, body in OBJECTS.items():
            os.makedirs(os.path.dirname(os.path.join(local, key[2:])), exist_ok=True)
            with open(os.path.join(local, key[2:]), "wb") as f:
                f.write(body)

        def remove():
            for key in GONE:
                os.remove(os.path.join(local, key[2:]))
        self.check_exact_copies(local, f"s3://{self.bucket}/c/", self.bucket, remove)


if __name__ == "__main__":
    unittest.main()
