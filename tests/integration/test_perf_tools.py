"""The benchmark's own helpers that decide what a row measures (perf/datasets.py): an
earlier dataset is set aside rather than deleted while the disk has room (deleting it would
charge the next client for the freed inodes on ext4 without a journal), and the file
system the header names is the one the datasets land on."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("RIPTIDE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")),
                                "perf"))
import datasets  # noqa: E402


class DatasetsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="riptide-perf-tools-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def dataset(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "sub", "f.bin"), "wb") as f:
            f.write(b"x" * 100)
        return d

    def test_an_earlier_dataset_is_set_aside_while_the_disk_has_room_and_deleted_when_not(self):
        trash = os.path.join(self.tmp, "trash")
        kept = self.dataset("dest-a")
        datasets.set_aside(kept, trash, 0)
        self.assertFalse(os.path.exists(kept))
        aside = os.listdir(trash)
        self.assertEqual(len(aside), 1)
        self.assertEqual(datasets.tree_size(os.path.join(trash, aside[0])), (1, 100))

        gone = self.dataset("dest-b")
        datasets.set_aside(gone, trash, shutil.disk_usage(self.tmp).free * 4)
        self.assertFalse(os.path.exists(gone))
        self.assertEqual(len(os.listdir(trash)), 1, "a dataset the disk has no room to keep was set aside")

        datasets.set_aside(os.path.join(self.tmp, "never-made"), trash, 0)  # nothing to do
        self.assertEqual(len(os.listdir(trash)), 1)

    def test_the_file_system_named_is_the_one_the_datasets_land_on(self):
        for path in (self.tmp, "/proc/self", "/dev"):
            expected = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", path], capture_output=True,
                                      text=True, check=True).stdout.split()[0]
            fstype, _, journal = datasets.filesystem(path)
            self.assertEqual(fstype, expected, path)
            self.assertEqual(journal is None, fstype != "ext4", path)
            self.assertIn(fstype, datasets.describe(path))


if __name__ == "__main__":
    unittest.main()
