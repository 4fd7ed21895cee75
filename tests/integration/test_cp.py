"""`riptide cp` out of a bucket, as aws-cli users type it: one object to a file or a
folder, a prefix to a folder; every object named fetched, verified, renamed into place
whole, and nothing of riptide's left beside the files."""
import json
import os
import unittest

from fault_proxy import FaultProxy, Rule
from support import ServerTestCase, riptide, tree

MiB = 1 << 20
OBJECTS = {"p/a.txt": b"alpha", "p/sub/big.bin": os.urandom(3 * MiB + 5), "p/sub/deep/c.txt": b"c"}


class CpDownloadTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.put(OBJECTS)
        self.out = os.path.join(self.tmp, "out")

    def cp(self, *args, endpoint=None):
        p = riptide("cp", *args, "--endpoint", endpoint or self.server.endpoint, "--part-size", "1M", "--json",
                    server=self.server)
        lines = p.stdout.strip().splitlines()
        return p, json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None

    def assert_clean(self, root):
        """No staging folder, state directory or temp file anywhere under root."""
        for dirpath, dirnames, files in os.walk(root):
            for name in dirnames + files:
                self.assertFalse(name.startswith(".riptide") or ".tmp" in name, os.path.join(dirpath, name))

    def test_one_object_to_a_file_a_folder_and_a_prefix_to_a_folder(self):
        p, s = self.cp(f"s3://{self.bucket}/p/a.txt", os.path.join(self.out, "renamed.txt"))
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        p, s = self.cp(f"s3://{self.bucket}/p/sub/big.bin", os.path.join(self.out, "here") + "/")
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        p, s = self.cp(f"s3://{self.bucket}/p/", os.path.join(self.out, "all"))
        self.assertEqual((p.returncode, s["transferred"]), (0, 3), p.stderr)
        self.assertEqual(tree(self.out), {"renamed.txt": b"alpha", "here/big.bin": OBJECTS["p/sub/big.bin"],
                                          **{"all/" + k[2:]: v for k, v in OBJECTS.items()}})
        self.assert_clean(self.out)
        # No diff: a second cp fetches again and puts back what was edited locally.
        with open(os.path.join(self.out, "all", "a.txt"), "wb") as f:
            f.write(b"local edit")
        p, s = self.cp(f"s3://{self.bucket}/p/", os.path.join(self.out, "all"))
        self.assertEqual((p.returncode, s["transferred"]), (0, 3), p.stderr)
        self.assertEqual(tree(os.path.join(self.out, "all"))["a.txt"], b"alpha")

    def test_a_corrupted_part_is_fetched_again_and_a_blocked_path_fails_alone(self):
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.add(Rule(lambda m, path, h: m == "GET" and "big.bin" in path and "Range" in h, "flip"))
        os.makedirs(os.path.join(self.out, "a.txt"))  # a folder where a file should land
        p, s = self.cp(f"s3://{self.bucket}/p/", self.out, endpoint=proxy.endpoint)
        self.assertEqual((p.returncode, s["transferred"], s["failed"]), (1, 2, 1), p.stderr)
        self.assertIn("cannot be put at", s["failures"][0]["reason"])
        got = tree(self.out)
        self.assertEqual(got["sub/big.bin"], OBJECTS["p/sub/big.bin"])
        self.assertNotIn("a.txt", got)
        self.assert_clean(self.out)

    def test_dry_run_names_the_final_paths_and_writes_nothing(self):
        p = riptide("cp", f"s3://{self.bucket}/p/", self.out, "--endpoint", self.server.endpoint, "--dry-run",
                    server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"(dry run) download s3://{self.bucket}/p/sub/deep/c.txt → {self.out}/sub/deep/c.txt",
                      p.stdout)
        self.assertFalse(os.path.exists(self.out))

    def test_keys_that_would_escape_are_refused(self):
        if self.server_kind == "s3rver":
            self.skipTest("s3rver resolves '..' in keys against its own store; moto stores them as sent")
        self.put({"p/../escape.txt": b"x"})
        p, s = self.cp(f"s3://{self.bucket}/p/", self.out)
        self.assertEqual((p.returncode, s["refused"] if "refused" in s else s["failed"]), (1, 1), p.stderr)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["out"])
        self.assert_clean(self.out)


if __name__ == "__main__":
    unittest.main()
