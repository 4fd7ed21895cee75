"""riptide sync against a real S3 server: bytes on disk equal what was uploaded."""
import json
import os
import shutil
import random
import time
import unittest

from support import ServerTestCase, manifest_rows, md5, riptide, tree

ODD_NAMES = ["plain-", "with space ", "unicodé-ß-", "plus+", "percent%25-", "eq=", "amp&", "emoji-🚀-"]


def sample_objects(n=240, root="data/"):
    """n objects in nested prefixes, with zero-byte objects and awkward names."""
    rng = random.Random(7)
    objects = {}
    for i in range(n):
        depth = i % 4
        folders = "".join(f"level{d}-{i % (d + 2)}/" for d in range(depth))
        key = f"{root}{folders}{ODD_NAMES[i % len(ODD_NAMES)]}{i}.bin"
        size = 0 if i % 17 == 0 else rng.randrange(1, 6000)
        objects[key] = rng.randbytes(size)
    return objects


def expected_tree(objects, root="data/"):
    return {k[len(root):]: v for k, v in objects.items() if k.startswith(root) and not k.endswith("/")}


class SyncTest(ServerTestCase):
    def test_mirror_then_nothing_then_only_the_change(self):
        objects = sample_objects()
        objects["outside/not-mirrored.txt"] = b"outside the prefix"
        self.put(objects)

        p, summary = self.sync("/data", "--page-size", "50")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), expected_tree(objects))
        self.assertEqual(summary["transferred"], 240)
        self.assertEqual(summary["failed"], 0)
        self.assertEqual(summary["listed"], 240)
        rows = manifest_rows(self.dataset)
        self.assertEqual(len(rows), 240)
        for key, (size, etag, verified_by, xxh3) in rows.items():
            self.assertEqual(size, len(objects[key]))
            self.assertEqual(etag, md5(objects[key]))
            self.assertIn(verified_by, ("md5", "crc32"))  # boto3 adds CRC32 by default: it proves
            self.assertEqual(len(xxh3), 32)

        # Nothing changed: nothing moves.
        p, summary = self.sync("/data", "--page-size", "50")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["transferred"], 0)
        self.assertEqual(summary["skipped"], 240)

        # One object changed, one added: exactly those two move.
        changed = sorted(k for k in objects if k.startswith("data/level0"))[3]
        objects[changed] = b"new content of a changed object"
        objects["data/brand new.txt"] = b"added later"
        self.put({changed: objects[changed], "data/brand new.txt": objects["data/brand new.txt"]})
        p, summary = self.sync("/data", "--page-size", "50")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["transferred"], 2)
        self.assertEqual(summary["skipped"], 239)
        self.assertEqual(tree(self.dataset), expected_tree(objects))

    def test_prefix_mirrors_only_its_subtree(self):
        objects = {"a/one.txt": b"1", "a/sub/two.txt": b"22", "ab/not-this.txt": b"x", "b/three": b"333"}
        self.put(objects)
        p, summary = self.sync("/a")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"one.txt": b"1", "sub/two.txt": b"22"})

    def test_whole_bucket_and_mtime_from_last_modified(self):
        objects = {"top.txt": b"top", "x/y/z.bin": os.urandom(70000), "zero": b""}
        self.put(objects)
        p, summary = self.sync()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), objects)
        head = self.s3.head_object(Bucket=self.bucket, Key="x/y/z.bin")
        mtime = os.stat(os.path.join(self.dataset, "x/y/z.bin")).st_mtime
        self.assertAlmostEqual(mtime, head["LastModified"].timestamp(), delta=1.0)
        # No temp files left behind.
        leftovers = [f for _, _, files in os.walk(self.dataset) for f in files if "riptide-tmp" in f]
        self.assertEqual(leftovers, [])

    def test_folder_markers_become_folders(self):
        self.put({"d/empty-folder/": b"", "d/full/file.txt": b"f"})
        p, _ = self.sync("/d")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.isdir(os.path.join(self.dataset, "empty-folder")))
        self.assertEqual(tree(self.dataset), {"full/file.txt": b"f"})

    def test_local_file_replaced_when_object_changes_size(self):
        self.put({"k/file": b"short"})
        self.assertEqual(self.sync("/k")[0].returncode, 0)
        time.sleep(1.1)  # a new LastModified second
        self.put({"k/file": b"a much longer body than before"})
        p, summary = self.sync("/k")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["transferred"], 1)
        self.assertEqual(tree(self.dataset), {"file": b"a much longer body than before"})


class HostileKeysTest(ServerTestCase):
    """Keys that would escape the dataset are refused and reported; the rest lands."""

    def test_hostile_keys_are_refused_and_reported(self):
        if self.server_kind == "s3rver":
            # Seen here: s3rver answers 404 to a PUT of "h//double", resolves ".." in keys
            # against its own store, and its listing fails (HTTP 500) once a key holds a
            # control character. moto stores and lists every one of them faithfully.
            self.skipTest("s3rver cannot store or list these keys; moto covers them")
        hostile = ["h/../escape.txt", "h/a/../../escape2.txt", "h//double", "h/./dot",
                   "h/.riptide/manifest.db", "h/ctrl\x01char"]
        good = {"h/fine.txt": b"fine", "h/sub/fine2.txt": b"fine2"}
        self.put({k: b"hostile" for k in hostile})
        self.put(good)
        p, summary = self.sync("/h")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(summary["refused"], len(hostile))
        refused = {f["key"] for f in summary["failures"]}
        self.assertEqual(refused, set(hostile))
        self.assertEqual(tree(self.dataset), {"fine.txt": b"fine", "sub/fine2.txt": b"fine2"})
        # Nothing was written beside the dataset.
        self.assertEqual(sorted(os.listdir(self.tmp)), ["dataset"])
        # The manifest is the state directory's own, untouched by the hostile key.
        self.assertEqual(set(manifest_rows(self.dataset)), set(good))


    def test_object_that_is_also_a_folder_first_key_wins(self):
        objects = {"c/a": b"file a", "c/a-b": b"dash", "c/a/b": b"below", "c/a/c/d": b"deeper", "c/z": b"z"}
        self.put(objects)
        if self.server_kind == "s3rver":
            # s3rver lists in its store's order ("c/a/b" before "c/a"), so the rule, which
            # needs key order, cannot apply: one side fails, nothing is wrong or lost.
            p, summary = self.sync("/c")
            self.assertEqual(p.returncode, 1, p.stderr)
            for rel, data in tree(self.dataset).items():
                self.assertEqual(data, objects["c/" + rel])
            self.assertIn(sorted(f["key"] for f in summary["failures"]), (["c/a"], ["c/a/b", "c/a/c/d"]))
            return
        for _ in range(2):  # the same decision every run
            p, summary = self.sync("/c")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(tree(self.dataset), {"a": b"file a", "a-b": b"dash", "z": b"z"})
            refused = {f["key"]: f["reason"] for f in summary["failures"]}
            self.assertEqual(sorted(refused), ["c/a/b", "c/a/c/d"])
            self.assertIn("'c/a' is an object, so it cannot also be a folder", refused["c/a/b"])
        # A folder already in the dataset keeps its place against a new object of its name.
        other = os.path.join(self.tmp, "other")
        self.s3.delete_object(Bucket=self.bucket, Key="c/a")
        self.assertEqual(self.sync("/c", dataset=other)[0].returncode, 0)
        self.put({"c/a": b"file a"})
        p, summary = self.sync("/c", dataset=other)
        self.assertEqual(p.returncode, 1)
        self.assertEqual([f["key"] for f in summary["failures"]], ["c/a"])
        self.assertEqual(tree(other)["a/b"], b"below")

    def test_unicode_forms_and_case_are_distinct_files(self):
        import unicodedata
        nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
        self.assertNotEqual(nfc.encode(), nfd.encode())
        self.put({f"u/{nfc}": b"composed", f"u/{nfd}": b"decomposed", "u/README": b"upper", "u/readme": b"lower"})
        p, summary = self.sync("/u")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Keys map byte for byte: no normalisation, no case folding (Linux file systems
        # keep them apart).
        self.assertEqual(tree(self.dataset), {nfc: b"composed", nfd: b"decomposed", "README": b"upper",
                                              "readme": b"lower"})


class OutputTest(ServerTestCase):
    def test_progress_line_only_on_a_terminal(self):
        import shlex
        import subprocess
        from support import BIN
        self.put({f"p/{i}": b"x" * 1000 for i in range(300)})
        args = [BIN, "sync", f"s3://{self.bucket}/p", self.dataset, "--endpoint", self.server.endpoint]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        # Not a terminal: the summary only, no carriage returns.
        # Bytes, not text: text mode would turn every "\r" into "\n".
        plain = subprocess.run(args, env=env, capture_output=True)
        plain.stdout, plain.stderr = plain.stdout.decode(), plain.stderr.decode()
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertNotIn("\r", plain.stdout + plain.stderr)
        self.assertRegex(plain.stdout, r"^listed 300, transferred 300, skipped 0, failed 0, .* in [0-9.]+ s \([0-9.]+ (B|KiB|MiB|GiB)/s\)"
                                      r"(, 300 proved by their own checksum)?\n$")
        # A terminal (util-linux script gives it a pty): the live line appears.
        shutil.rmtree(self.dataset)
        tty = subprocess.run(["script", "-qec", shlex.join(args + ["--concurrency", "1"]), "/dev/null"],
                             env=env, capture_output=True)
        tty.stdout = tty.stdout.decode()
        self.assertEqual(tty.returncode, 0, tty.stdout)
        # One object at a time takes longer than the half-second tick of the live line.
        self.assertRegex(tty.stdout, r"\r\x1b\[K  listed \d+  done \d+/\d+")
        self.assertIn("listed 300, transferred 300", tty.stdout)

    def test_verbose_logs_say_what_happens(self):
        self.put({"v/a": b"a"})
        p, _ = self.sync("/v", "-v")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"mirroring s3://{self.bucket}/v/", p.stderr)
        self.assertIn("transferred v/a (1 B)", p.stderr)  # each object as it lands
        p, _ = self.sync("/v", "-v", "--log-format", "json")
        lines = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
        self.assertTrue(any("mirroring" in l["msg"] for l in lines), p.stderr)


class DriftAndDeleteTest(ServerTestCase):
    def test_local_drift_is_repaired(self):
        objects = {f"d/f{i}.txt": f"content {i}".encode() * 50 for i in range(6)}
        self.put(objects)
        self.assertEqual(self.sync("/d")[0].returncode, 0)
        os.unlink(os.path.join(self.dataset, "f1.txt"))             # deleted locally
        with open(os.path.join(self.dataset, "f2.txt"), "ab") as f:  # edited locally
            f.write(b"local edit")
        p, summary = self.sync("/d")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["drifted"], 2)
        self.assertEqual(summary["transferred"], 2)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in objects.items()})

    def test_delete_and_max_delete(self):
        objects = {f"x/keep{i}": b"k" for i in range(3)} | {f"x/gone{i}": b"g" for i in range(2)}
        self.put(objects)
        self.assertEqual(self.sync("/x")[0].returncode, 0)
        self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": "x/gone0"}, {"Key": "x/gone1"}]})
        # Without --delete: counted, not touched.
        p, summary = self.sync("/x")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["not_in_bucket"], 2)
        self.assertEqual(len(tree(self.dataset)), 5)
        # Over the limit: nothing deleted, exit 1.
        p, summary = self.sync("/x", "--delete", "--max-delete", "1")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("more than --max-delete 1", p.stdout)
        self.assertEqual(len(tree(self.dataset)), 5)
        # Within it: the two files and their rows go; the rest stays.
        p, summary = self.sync("/x", "--delete", "--max-delete", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["deleted"], 2)
        self.assertEqual(tree(self.dataset), {f"keep{i}": b"k" for i in range(3)})
        self.assertEqual(set(manifest_rows(self.dataset)), {f"x/keep{i}" for i in range(3)})


class StatusAndVerifyTest(ServerTestCase):
    def test_status_and_verify(self):
        from support import riptide
        objects = {f"s/{i}/obj.bin": os.urandom(1000 + i) for i in range(8)}
        self.put(objects)
        self.assertEqual(self.sync("/s")[0].returncode, 0)

        p = riptide("status", self.dataset, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        status = json.loads(p.stdout)
        self.assertEqual(status["source"], f"s3://{self.bucket}/s/")
        self.assertEqual(status["objects"], 8)
        self.assertEqual(status["bytes"], sum(len(v) for v in objects.values()))
        self.assertEqual(status["runs"][0]["status"], "ok")
        self.assertIn("8 objects", riptide("status", self.dataset).stdout)

        p = riptide("verify", self.dataset)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("checked 8 files", p.stdout)

        # Same size, other bytes; a file gone; a stranger.
        with open(os.path.join(self.dataset, "0/obj.bin"), "r+b") as f:
            first = f.read(1)
            f.seek(0)
            f.write(bytes([first[0] ^ 0xFF]))  # always another byte (random content may start with any)
        os.unlink(os.path.join(self.dataset, "1/obj.bin"))
        with open(os.path.join(self.dataset, "stranger.txt"), "wb") as f:
            f.write(b"?")
        p = riptide("verify", self.dataset, "--json")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        result = json.loads(p.stdout)
        self.assertEqual((result["changed"], result["missing"], result["extra"]),
                         (["0/obj.bin"], ["1/obj.bin"], ["stranger.txt"]))

        p = riptide("status", os.path.join(self.tmp, "not-a-dataset"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("no riptide manifest", p.stderr)

    def test_status_lists_last_failures(self):
        from support import riptide
        if self.server_kind == "s3rver":
            self.skipTest("s3rver cannot store the hostile key this test uses; moto covers it")
        self.put({"f/ok": b"ok", "f/../bad": b"bad"})
        self.assertEqual(self.sync("/f")[0].returncode, 1)
        status = json.loads(riptide("status", self.dataset, "--json").stdout)
        self.assertEqual([f["key"] for f in status["last_failures"]], ["f/../bad"])
        self.assertEqual(status["last_failures_total"], 1)
        self.assertEqual(status["runs"][0]["status"], "partial")
        # Plans do not push real runs out of the history: only the latest shows.
        for _ in range(6):
            self.assertEqual(riptide("plan", f"s3://{self.bucket}/f", self.dataset, "--endpoint",
                                     self.server.endpoint, server=self.server).returncode, 1)
        runs = json.loads(riptide("status", self.dataset, "--json").stdout)["runs"]
        self.assertEqual([r["status"] for r in runs][:2], ["dry-run", "partial"])
        # A long failure list is capped, with the count and --all.
        self.put({f"f/../bad{i:02d}": b"x" for i in range(24)})
        self.assertEqual(self.sync("/f")[0].returncode, 1)
        text = riptide("status", self.dataset).stdout
        self.assertEqual(text.count("failed last time:"), 20)
        self.assertIn("… and 5 more failures (riptide status --all lists them)", text)
        self.assertEqual(riptide("status", self.dataset, "--all").stdout.count("failed last time:"), 25)
        status = json.loads(riptide("status", self.dataset, "--json").stdout)
        self.assertEqual((len(status["last_failures"]), status["last_failures_total"]), (20, 25))


class FilterAndDryRunTest(ServerTestCase):
    OBJECTS = {"p/a.txt": b"a", "p/b.bin": b"bb", "p/sub/c.txt": b"ccc", "p/sub/d.bin": b"dddd"}

    def test_include_exclude_last_match_wins(self):
        self.put(self.OBJECTS)
        p, summary = self.sync("/p", "--exclude", "*", "--include", "*.txt")
        self.assertEqual(p.returncode, 0, p.stderr)
        # '*' stays within the top folder, so sub/ is untouched by either rule.
        self.assertEqual(tree(self.dataset), {"a.txt": b"a", "sub/c.txt": b"ccc", "sub/d.bin": b"dddd"})
        self.assertEqual(summary["excluded"], 1)
        p, summary = self.sync("/p", "--exclude", "**.bin", "--delete")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Excluded files are neither fetched nor deleted.
        self.assertEqual(tree(self.dataset), {"a.txt": b"a", "sub/c.txt": b"ccc", "sub/d.bin": b"dddd"})

    def test_a_copy_from_a_home_without_local_state_makes_that_folder(self):
        # A fresh server account has no ~/.local/state, where a bucket-to-bucket copy keeps
        # its run log: riptide makes it, its own folder in it private.
        # A copy opens its upload journal first; a dry run only the run log: a home each.
        self.put(self.OBJECTS)
        for extra in (["--dry-run"], []):
            home = self.dataset + "-home" + "".join(extra)
            os.makedirs(home)
            self.addCleanup(shutil.rmtree, home, True)
            p = riptide("cp", f"s3://{self.bucket}/p/", f"s3://{self.bucket}/copy/", "--endpoint",
                        self.server.endpoint, *extra, env={"HOME": home, "XDG_STATE_HOME": ""}, server=self.server)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(os.stat(os.path.join(home, ".local/state/riptide")).st_mode & 0o777, 0o700, extra)
        copied = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="copy/")["Contents"]
        self.assertEqual(len(copied), len(self.OBJECTS))

    def test_dry_run_touches_nothing(self):
        self.put(self.OBJECTS)
        p, summary = self.sync("/p", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(summary["dry_run"])
        self.assertEqual(summary["would_transfer"], 4)
        self.assertEqual(summary["would_transfer_bytes"], 10)
        self.assertEqual(tree(self.dataset), {})
        self.assertEqual(self.sync("/p")[0].returncode, 0)
        self.s3.delete_object(Bucket=self.bucket, Key="p/b.bin")
        self.put({"p/a.txt": b"changed"})
        p, summary = self.sync("/p", "--dry-run", "--delete")
        self.assertEqual((summary["would_transfer"], summary["would_delete"]), (1, 1))
        self.assertEqual(tree(self.dataset)["a.txt"], b"a")
        self.assertIn("b.bin", tree(self.dataset))
        # Without --json: one line per object it would move or delete, then the counts.
        p = riptide("sync", f"s3://{self.bucket}/p", self.dataset, "--endpoint", self.server.endpoint,
                    "--dry-run", "--delete", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[:2], [f"(dry run) download s3://{self.bucket}/p/a.txt → {self.dataset}/a.txt",
                                     f"(dry run) delete {self.dataset}/b.bin"])
        self.assertEqual(len(lines), 3, p.stdout)
        # Uploads and copies say the same of theirs.
        p = riptide("sync", self.dataset, f"s3://{self.bucket}/up", "--endpoint", self.server.endpoint,
                    "--dry-run", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"(dry run) upload {self.dataset}/sub/c.txt → s3://{self.bucket}/up/sub/c.txt", p.stdout)
        p = riptide("cp", f"s3://{self.bucket}/p/", f"s3://{self.bucket}/copy/", "--endpoint", self.server.endpoint,
                    "--dry-run", server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"(dry run) copy s3://{self.bucket}/p/sub/d.bin → s3://{self.bucket}/copy/sub/d.bin", p.stdout)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket, Prefix="copy/")["KeyCount"], 0)


class ExportTest(ServerTestCase):
    def test_export_csv(self):
        import csv
        import io
        from support import riptide
        objects = {"e/plain.txt": b"1", 'e/comma, "quoted".txt': b"22", "e/é.bin": b"333"}
        self.put(objects)
        self.assertEqual(self.sync("/e")[0].returncode, 0)
        p = riptide("export", self.dataset, "--csv", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        self.assertEqual([r["key"] for r in rows], sorted(objects, key=lambda k: k.encode()))
        for r in rows:
            self.assertEqual(int(r["size"]), len(objects[r["key"]]))
            self.assertEqual(r["etag"], md5(objects[r["key"]]))
            self.assertRegex(r["last_modified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(len(r["xxh3"]), 32)
        out = os.path.join(self.tmp, "state.csv")
        self.assertEqual(riptide("export", self.dataset, "--csv", out).returncode, 0)
        with open(out) as f:
            self.assertEqual(f.read(), p.stdout)


if __name__ == "__main__":
    unittest.main()
