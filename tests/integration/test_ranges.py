"""Key-range listing (--list-concurrency): one prefix listed as many contiguous key
ranges at once, split as they go, must give the same keys in the same order as one page
after another, on a skewed bucket with keys beyond ASCII, and every command that lists
must stay exact with it. Small pages (--page-size 20) make many ranges out of a bucket
of 900 keys."""
import json
import os
import subprocess
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from fault_proxy import FaultProxy, Rule
from support import ServerTestCase, riptide, tree

# Skewed: most keys under one folder, a few elsewhere, some beyond ASCII.
KEYS = ([f"r/flat/file-{i:05d}" for i in range(0, 1600, 2)]
        + [f"r/a/{i}" for i in range(40)]
        + [f"r/m/\u4e2d{i}" for i in range(30)]
        + [f"r/\u00e9t\u00e9/{i}" for i in range(30)]
        + ["r/flat/file-00001 copy", "r/~tail", "r/z"])


def start_afters(proxy):
    """The start-after of each listing request the proxy saw (ranges after the first)."""
    found = set()
    for e in proxy.log:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(e.path).query)
        if "list-type" in query and "start-after" in query:
            found.add(query["start-after"][0])
    return found


class RangeListingTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket=self.bucket, Key=k, Body=k.encode()), KEYS))
        self.proxy = FaultProxy(self.server.port)
        self.addCleanup(self.proxy.stop)

    def run_riptide(self, *args, proxied=False):
        endpoint = self.proxy.endpoint if proxied else self.server.endpoint
        return riptide(*args, "--endpoint", endpoint, "--page-size", "20", server=self.server)

    def test_ls_and_tree_list_the_same_keys_in_the_same_order(self):
        url = f"s3://{self.bucket}/r/"
        one = self.run_riptide("ls", "-r", url, "--list-concurrency", "1", proxied=True)
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual(start_afters(self.proxy), set(), "one page after another")
        many = self.run_riptide("ls", "-r", url, "--list-concurrency", "16", proxied=True)
        self.assertEqual(many.returncode, 0, many.stderr)
        self.assertEqual(many.stdout, one.stdout)
        self.assertEqual(len(many.stdout.splitlines()), len(KEYS) + 1)
        self.assertGreaterEqual(len(start_afters(self.proxy)), 4, "the key space was split into ranges")
        trees = [self.run_riptide("tree", url, "--json", "--list-concurrency", n).stdout for n in ("1", "8")]
        self.assertEqual(json.loads(trees[0]), json.loads(trees[1]))

    def test_sync_and_delete_stay_exact(self):
        p = self.run_riptide("sync", f"s3://{self.bucket}/r", self.dataset, "--list-concurrency", "8", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["transferred"], len(KEYS))
        self.assertEqual(tree(self.dataset), {k[2:]: k.encode() for k in KEYS})
        gone = KEYS[::7]
        for k in gone:
            self.s3.delete_object(Bucket=self.bucket, Key=k)
        p = self.run_riptide("sync", f"s3://{self.bucket}/r", self.dataset, "--list-concurrency", "8", "--delete",
                             "--json")
        s = json.loads(p.stdout.splitlines()[-1])
        self.assertEqual((p.returncode, s["transferred"], s["deleted"]), (0, 0, len(gone)), p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: k.encode() for k in KEYS if k not in gone})

    def test_copies_and_shard_plans_stay_exact(self):
        dst = self.bucket + "-dst"
        self.s3.create_bucket(Bucket=dst)
        for _ in range(2):
            p = self.run_riptide("sync", f"s3://{self.bucket}/r/", f"s3://{dst}/c/", "--list-concurrency", "8",
                                 "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["transferred"], 0, "the second copy sends nothing")
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=dst, Prefix="c/")
        self.assertEqual(sorted(o["Key"][2:] for page in pages for o in page.get("Contents", [])),
                         sorted(k[2:] for k in KEYS))
        plans = []
        for n in ("1", "8"):
            out = os.path.join(self.tmp, f"shards-{n}.json")
            p = self.run_riptide("shard", "plan", f"s3://{self.bucket}/r", "--shards", "3", "--out", out,
                                 "--list-concurrency", n)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                plans.append({k: v for k, v in json.load(f).items() if k != "created"})
        self.assertEqual(plans[0], plans[1])

    def test_a_range_that_cannot_be_listed_fails_the_run_and_deletes_nothing(self):
        p = self.run_riptide("sync", f"s3://{self.bucket}/r", self.dataset, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.proxy.add(Rule(lambda m, path, h: m == "GET" and "list-type=2" in path and "start-after=" in path,
                            "status", times=10**9, status=403, code="AccessDenied"))
        p = self.run_riptide("sync", f"s3://{self.bucket}/r", self.dataset, "--list-concurrency", "8", "--delete",
                             "--json", proxied=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("AccessDenied (HTTP 403): listing failed part-way", json.loads(p.stdout)["error"])
        self.assertEqual(len(tree(self.dataset)), len(KEYS), "nothing deleted on a partial listing")

    @unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs for TMPDIR needs root (CI runs as root)")
    def test_a_listing_that_cannot_be_spooled_fails_instead_of_losing_keys(self):
        tmp = os.path.join(self.tmp, "tiny-tmp")
        os.makedirs(tmp)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", tmp], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", tmp])
        p = riptide("ls", "-r", f"s3://{self.bucket}/r/", "--endpoint", self.server.endpoint, "--page-size", "20",
                    "--list-concurrency", "4", server=self.server, env={"TMPDIR": tmp})
        self.assertEqual(p.returncode, 2, p.stdout[-300:] + p.stderr)
        self.assertIn("cannot spool the listing to a temp file in $TMPDIR", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
