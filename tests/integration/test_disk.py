"""Disks that fail: a full file system stops the run with a clear error, loses nothing,
and the next run with space finishes the job. Needs root (it mounts a small tmpfs)."""
import json
import os
import subprocess
import unittest

from support import ServerTestCase, manifest_rows, tree


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
class FullDiskTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(self.tmp, "small-disk")
        os.makedirs(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", self.mnt], check=True)
        self.dataset = os.path.join(self.mnt, "dataset")

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt])
        super().tearDown()

    def test_full_disk_stops_cleanly_then_resumes_with_space(self):
        first = {f"d/first-{i}.bin": bytes([i]) * 100_000 for i in range(5)}
        self.put(first)
        p, summary = self.sync("/d")
        self.assertEqual(p.returncode, 0, p.stderr)
        before = tree(self.dataset)

        more = {f"d/more-{i}.bin": bytes([i + 50]) * 300_000 for i in range(10)}  # 3 MB: does not fit
        self.put(more)
        p, summary = self.sync("/d")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("No space left on device", p.stdout)
        now = tree(self.dataset)
        # What was there is untouched; what landed is whole; nothing half-written remains.
        for name, data in before.items():
            self.assertEqual(now[name], data)
        for name, data in now.items():
            self.assertEqual(data, (first | more)["d/" + name])
        leftovers = [f for _, _, files in os.walk(self.dataset) for f in files if "riptide-tmp" in f]
        self.assertEqual(leftovers, [])
        self.assertTrue(set(manifest_rows(self.dataset)) <= {"d/" + n for n in now})

        subprocess.run(["mount", "-o", "remount,size=16m", self.mnt], check=True)
        p, summary = self.sync("/d")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in (first | more).items()})


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(os.geteuid() == 0, "a read-only mount needs root (CI runs as root)")
class ReadOnlyTest(ServerTestCase):
    def test_read_only_destination_is_one_clear_error(self):
        mnt = os.path.join(self.tmp, "ro-disk")
        os.makedirs(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], check=True)
        try:
            self.dataset = os.path.join(mnt, "dataset")
            self.put({"r/a": b"a"})
            self.assertEqual(self.sync("/r")[0].returncode, 0)
            subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
            self.put({"r/b": b"b", "r/a": b"changed"})
            p, _ = self.sync("/r")
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assertIn("Read-only file system", p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertEqual(tree(self.dataset), {"a": b"a"})
        finally:
            subprocess.run(["umount", "-l", mnt])


class SymlinkTest(ServerTestCase):
    def test_symlinked_folder_inside_the_dataset_is_never_followed(self):
        outside = os.path.join(self.tmp, "outside")
        os.makedirs(outside)
        self.put({"s/ok.txt": b"ok"})
        self.assertEqual(self.sync("/s")[0].returncode, 0)
        os.symlink(outside, os.path.join(self.dataset, "escape"))  # planted by someone else
        self.put({"s/escape/x.txt": b"must not land outside"})
        p, summary = self.sync("/s")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(os.listdir(outside), [])
        self.assertIn("not followed", summary["failures"][0]["reason"])
        self.assertEqual(summary["failures"][0]["key"], "s/escape/x.txt")
