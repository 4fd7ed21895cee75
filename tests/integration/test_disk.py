"""Disks that fail: a full file system stops the run with a clear error, loses nothing,
and the next run with space finishes the job. Needs root (it mounts a small tmpfs)."""
import json
import os
import shutil
import subprocess
import unicodedata
import unittest

from support import ServerTestCase, manifest_rows, tree, wait_until


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


class CaseFoldingTest(ServerTestCase):
    """exFAT (case-insensitive, case-preserving) on a loop device through FUSE: keys that
    differ only in case are one name there, so the first listed keeps it."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("a loop device and a FUSE mount need root (CI runs as root)")
        missing = [t for t in ("mkfs.exfat", "mount.exfat-fuse", "losetup") if not shutil.which(t)]
        if missing:
            self.fail(f"{missing} missing: scripts/setup.sh --test-tools installs exfatprogs and exfat-fuse")
        image, self.mnt = os.path.join(self.tmp, "exfat.img"), os.path.join(self.tmp, "exfat")
        os.makedirs(self.mnt)
        with open(image, "wb") as f:
            f.truncate(64 << 20)
        subprocess.run(["mkfs.exfat", image], check=True, capture_output=True)
        dev = subprocess.run(["losetup", "-f", "--show", image], capture_output=True, text=True)
        if dev.returncode != 0:
            self.skipTest(f"no loop device here: {dev.stderr.strip()}")
        self.addCleanup(subprocess.run, ["losetup", "-d", dev.stdout.strip()])
        mount = subprocess.run(["mount.exfat-fuse", dev.stdout.strip(), self.mnt], capture_output=True, text=True)
        if mount.returncode != 0:
            self.skipTest(f"no FUSE mount here: {mount.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])
        self.dataset = os.path.join(self.mnt, "dataset")

    def test_keys_differing_only_in_case_are_refused_not_written_over_each_other(self):
        objects = {"c/README": b"upper", "c/readme": b"lower", "c/Dir/a": b"a", "c/dir/b": b"b", "c/ok": b"ok",
                   "c/\u00c9T\u00c9": b"E", "c/\u00e9t\u00e9": b"e"}  # beyond ASCII: ÉTÉ and été
        self.put(objects)
        for _ in range(2):  # the same decision every run
            p, summary = self.sync("/c")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(sorted(f["key"] for f in summary["failures"]), ["c/dir/b", "c/readme", "c/\u00e9t\u00e9"])
            self.assertIn("one name on this case-insensitive file system", summary["failures"][0]["reason"])
            self.assertEqual(tree(self.dataset), {"README": b"upper", "Dir/a": b"a", "ok": b"ok", "\u00c9T\u00c9": b"E"})


class NormalizingTest(ServerTestCase):
    """A file system that normalises Unicode names (as APFS and casefolded ext4 do), made
    with FUSE (tests/integration/normalizing_fs.py): the NFC and NFD spellings of a key are
    one name there, so the key listed first keeps it and the other is refused."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("a FUSE mount needs root (CI runs as root)")
        if subprocess.run(["/usr/bin/python3", "-c", "import fusepy"], capture_output=True).returncode != 0:
            self.fail("Debian's python3-fusepy is missing: scripts/setup.sh --test-tools installs it")
        backing, self.mnt = os.path.join(self.tmp, "backing"), os.path.join(self.tmp, "nfc")
        os.makedirs(backing)
        os.makedirs(self.mnt)
        fs = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "normalizing_fs.py"),
                               backing, self.mnt], stderr=subprocess.PIPE)
        self.addCleanup(fs.wait, 10)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])
        wait_until(lambda: os.path.ismount(self.mnt) or fs.poll() is not None, "the FUSE mount")
        if fs.poll() is not None:
            self.skipTest(f"no FUSE mount here: {fs.stderr.read().decode().strip()}")
        self.dataset = os.path.join(self.mnt, "dataset")

    def test_nfc_and_nfd_spellings_of_a_key_are_refused_not_written_over_each_other(self):
        nfc, nfd = "caf\u00e9", "cafe\u0301"
        self.put({f"n/{nfd}": b"nfd", f"n/{nfc}": b"nfc", "n/ok": b"ok",
                  f"n/d\u00e9j\u00e0/a": b"a", "n/de\u0301ja\u0300/b": b"b"})
        for _ in range(2):  # the same decision every run
            p, summary = self.sync("/n")
            self.assertEqual(p.returncode, 1, p.stderr)
            # UTF-8 byte order lists "e" + accent before "é": the NFD spelling keeps the name.
            refused = sorted(f["key"] for f in summary["failures"])
            self.assertEqual(refused, sorted([f"n/{nfc}", f"n/d\u00e9j\u00e0/a"]), summary["failures"])
            self.assertIn("one name on this file system, which normalises Unicode names", summary["failures"][0]["reason"])
            got = {unicodedata.normalize("NFC", k): v for k, v in tree(self.dataset).items()}
            self.assertEqual(got, {nfc: b"nfd", "ok": b"ok", unicodedata.normalize("NFC", "de\u0301ja\u0300/b"): b"b"})


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
