"""plan, tree, map, ls, key lists, --checksum, --newer and the COS_* environment job."""
import json
import os
import time
import unittest

from fault_proxy import FaultProxy
from support import SERVER, ServerTestCase, riptide, tree

OBJECTS = {
    "p/a.txt": b"a",
    "p/b.bin": b"bb",
    "p/sub/c.txt": b"ccc",
    "p/sub/deep/d.bin": b"dddd",
    "q/other.txt": b"not under p",
}


class CommandTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.put(OBJECTS)

    def run_riptide(self, *args, env=None):
        return riptide(*args, "--endpoint", self.server.endpoint, server=self.server, env=env)

    def read(self, *parts):
        with open(os.path.join(*parts), "rb") as f:
            return f.read()


class PlanTest(CommandTestCase):
    def test_plan_lists_what_sync_would_do_and_touches_nothing(self):
        out = os.path.join(self.tmp, "plans", "today")  # created, with the folder above it
        # A plan for a dataset that does not exist yet creates no dataset.
        p = self.run_riptide("plan", f"s3://{self.bucket}/p", self.dataset, "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(os.path.exists(self.dataset))
        self.assertIn("would transfer 4 (10 B: 4 new, 0 modified)", p.stdout)
        self.assertEqual(self.read(out, "new.txt").decode().splitlines(),
                         ["p/a.txt", "p/b.bin", "p/sub/c.txt", "p/sub/deep/d.bin"])

        self.assertEqual(self.sync("/p")[0].returncode, 0)
        self.put({"p/a.txt": b"changed", "p/new.txt": b"new!"})
        self.s3.delete_object(Bucket=self.bucket, Key="p/b.bin")
        with open(os.path.join(self.dataset, "sub", "c.txt"), "wb") as f:
            f.write(b"local edit")  # drift: fetched again
        before = tree(self.dataset)

        p = self.run_riptide("plan", f"s3://{self.bucket}/p", self.dataset, "--out", out, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), before)  # nothing transferred or deleted
        self.assertEqual(self.read(out, "new.txt"), b"p/new.txt\n")
        self.assertEqual(self.read(out, "modified.txt"), b"p/a.txt\np/sub/c.txt\n")
        self.assertEqual(self.read(out, "delete.txt"), b"p/b.bin\n")
        with open(os.path.join(out, "plan.json")) as f:
            plan = json.load(f)
        self.assertEqual(plan["source"], f"s3://{self.bucket}/p/")
        self.assertEqual(plan["new"], {"objects": 1, "bytes": 4})
        self.assertEqual(plan["modified"], {"objects": 2, "bytes": 10, "local_drift": 1})
        self.assertEqual(plan["delete"], {"objects": 1, "bytes": 2, "enabled": False})
        self.assertEqual((plan["unchanged"], plan["complete"]), (1, True))
        summary = json.loads(p.stdout)
        self.assertEqual((summary["would_transfer"], summary["would_transfer_new"]), (3, 1))

        # The plan is what sync then does.
        p, summary = self.sync("/p", "--delete")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((summary["transferred"], summary["deleted"]), (3, 1))

    def test_plan_with_bad_credentials_writes_no_lists(self):
        out = os.path.join(self.tmp, "plan")
        p = riptide("plan", f"s3://no-such-bucket-here/p", self.dataset, "--out", out,
                    "--endpoint", self.server.endpoint, server=self.server)
        self.assertEqual(p.returncode, 2)
        self.assertFalse(os.path.exists(out))


class BrowseTest(CommandTestCase):
    def test_tree_counts_and_depth(self):
        p = self.run_riptide("tree", f"s3://{self.bucket}/p")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout,
                         f"s3://{self.bucket}/p/  (4 objects, 10 B)\n"
                         "├── a.txt  1 B\n"
                         "├── b.bin  2 B\n"
                         "└── sub/  (2 objects, 7 B)\n"
                         "    ├── c.txt  3 B\n"
                         "    └── deep/  (1 object, 4 B)\n"
                         "        └── d.bin  4 B\n")
        # Three levels by default: below them, objects are counted in their folder.
        self.put({"p/sub/deep/er/est/e.bin": b"e"})
        p = self.run_riptide("tree", f"s3://{self.bucket}/p/sub")
        self.assertEqual(p.stdout.splitlines()[-1], "        └── est/  (1 object, 1 B)")
        self.s3.delete_object(Bucket=self.bucket, Key="p/sub/deep/er/est/e.bin")
        p = self.run_riptide("tree", f"s3://{self.bucket}", "--depth", "1", "--page-size", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout,
                         f"s3://{self.bucket}/  (5 objects, 21 B)\n"
                         "├── p/  (4 objects, 10 B)\n"
                         "└── q/  (1 object, 11 B)\n")
        p = self.run_riptide("tree", f"s3://{self.bucket}/p", "--depth", "1", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {
            "name": f"s3://{self.bucket}/p/", "objects": 4, "bytes": 10, "children": [
                {"name": "a.txt", "bytes": 1}, {"name": "b.bin", "bytes": 2},
                {"name": "sub/", "objects": 2, "bytes": 7, "children": []}]})

    def test_ls_without_a_source_lists_the_buckets(self):
        self.s3.create_bucket(Bucket=self.bucket + "-two")
        p = self.run_riptide("ls", env={"COS_BUCKET_NAME": ""})
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        for name in (self.bucket, self.bucket + "-two"):
            [line] = [x for x in lines if x.endswith(f"  s3://{name}/")]
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT")  # its creation date first
        p = self.run_riptide("ls", "--json")
        names = {b["bucket"] for b in json.loads(p.stdout)}
        self.assertTrue({self.bucket, self.bucket + "-two"} <= names, names)
        p = riptide("ls", "--endpoint", "http://127.0.0.1:1", "--no-sign-request")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot list the buckets", p.stderr)

    def test_a_mistyped_command_names_the_one_meant(self):
        for word, meant in (("synk", "sync"), ("servee", "serve"), ("tre", "tree")):
            p = riptide(word, f"s3://{self.bucket}/p")
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr, f"riptide: unknown command '{word}'; did you mean '{meant}'? "
                                       "(see riptide --help)\n")
        p = riptide("sync", f"s3://{self.bucket}/p", "/tmp/x", "--max-delete", "-1")
        self.assertEqual((p.returncode, p.stderr), (2, "riptide: --max-delete: must be a whole number, 0 or more, "
                                                       "not '-1' (see riptide --help)\n"))
        p = riptide("frobnicate")
        self.assertEqual((p.returncode, p.stderr), (2, "riptide: unknown command 'frobnicate' (see riptide --help)\n"))

    def test_keys_with_control_bytes_never_reach_the_terminal_raw(self):
        if SERVER == "s3rver":
            self.skipTest("s3rver writes control bytes raw into its listing XML (it ignores encoding-type=url), "
                          "which no XML parser accepts")
        hostile = {"esc/\x1b[2J\x1b]0;pwned\x07title": b"x", "esc/dir\x1b[31m/red": b"y"}
        self.put(hostile)
        for args in (["ls", f"s3://{self.bucket}/esc/"], ["ls", f"s3://{self.bucket}/esc/", "--recursive"],
                     ["tree", f"s3://{self.bucket}/esc"], ["map", f"s3://{self.bucket}/esc", os.path.join(self.tmp, "m")]):
            p = self.run_riptide(*args)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            self.assertNotIn("\x1b", p.stdout + p.stderr, args)
            self.assertNotIn("\x07", p.stdout + p.stderr, args)
            self.assertTrue("\\x1b" in p.stdout or "\\u001b" in p.stdout, (args, p.stdout))

    def test_ls_one_level_recursive_and_json(self):
        p = self.run_riptide("ls", f"s3://{self.bucket}/p")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual([line.split()[-1] for line in lines], ["a.txt", "b.bin", "sub/"])
        self.assertEqual(lines[2].split(), ["PRE", "sub/"])
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +1 a\.txt$")

        p = self.run_riptide("ls", f"s3://{self.bucket}", "--recursive", "--page-size", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([line.split()[-1] for line in p.stdout.splitlines()[:-1]], sorted(OBJECTS))
        self.assertEqual(p.stdout.splitlines()[-1], "5 objects, 21 B")

        p = self.run_riptide("ls", f"s3://{self.bucket}/p", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = json.loads(p.stdout)
        self.assertEqual(entries[2], {"prefix": "p/sub/"})
        self.assertEqual({k: entries[0][k] for k in ("key", "size")}, {"key": "p/a.txt", "size": 1})
        self.assertEqual(len(entries[0]["etag"]), 32)
        p = self.run_riptide("ls", f"s3://{self.bucket}/empty", "--json")
        self.assertEqual(json.loads(p.stdout), [])

    def test_ls_of_a_missing_bucket_is_one_line_exit_2(self):
        p = self.run_riptide("ls", "s3://no-such-bucket-here")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("NoSuchBucket", p.stderr)

    def test_map_shows_paths_and_refusals(self):
        hostile = {"p/../escape": b"x", "p/ok/..": b"y"} if SERVER == "moto" else {}
        self.put(dict(hostile, **{"p/folder/": b""}))
        p = self.run_riptide("map", f"s3://{self.bucket}/p", "/data/set/")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [line.split("\t") for line in p.stdout.splitlines()]
        mapped = {r[0]: r[1] for r in rows if not r[1].startswith("REFUSED")}
        self.assertEqual(mapped["p/a.txt"], "/data/set/a.txt")
        self.assertEqual(mapped["p/sub/deep/d.bin"], "/data/set/sub/deep/d.bin")
        self.assertEqual(mapped["p/folder/"], "/data/set/folder")
        refused = [r for r in rows if r[1].startswith("REFUSED")]
        self.assertEqual(len(refused), len(hostile))
        self.assertIn(f"{len(mapped)} mapped, {len(hostile)} refused, 0 excluded", p.stderr)

        p = self.run_riptide("map", f"s3://{self.bucket}/p", "/d", "--json", "--exclude", "**.bin")
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = {e["key"]: e for e in json.loads(p.stdout)}
        self.assertNotIn("p/b.bin", entries)
        self.assertEqual(entries["p/a.txt"], {"key": "p/a.txt", "path": "/d/a.txt", "folder": False})
        for key in hostile:
            self.assertIn("refused", entries[key])

        # A key list is mapped without a single request.
        p = riptide("map", f"s3://{self.bucket}", "/d", "--key", "x/y.txt", "--key", "../up",
                    "--endpoint", "http://127.0.0.1:9")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[0], "x/y.txt\t/d/x/y.txt")
        self.assertTrue(p.stdout.splitlines()[1].startswith('"../up"\tREFUSED: '))


class KeyListTest(CommandTestCase):
    def test_keys_fetch_exactly_those_objects(self):
        p, summary = self.sync("", "--key", "p/a.txt", "--key", "p/sub/deep/d.bin")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"p/a.txt": b"a", os.path.join("p", "sub", "deep", "d.bin"): b"dddd"})
        self.assertEqual(summary["transferred"], 2)

        keys = os.path.join(self.tmp, "keys.txt")
        with open(keys, "w") as f:
            f.write("p/a.txt\r\n\nq/other.txt\np/b.bin\n")
        p, summary = self.sync("", "--keys-file", keys)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((summary["transferred"], summary["skipped"]), (2, 1))
        self.assertEqual(tree(self.dataset)["q/other.txt"], b"not under p")
        # Keys not named are not "gone": a key list never deletes or reports them.
        self.assertEqual(summary["not_in_bucket"], 0)

    def test_missing_key_is_no_such_key_with_a_hint(self):
        p, summary = self.sync("", "--key", "a.txt", "--key", "p/b.bin")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(summary["transferred"], 1)
        [failure] = summary["failures"]
        self.assertEqual(failure["key"], "a.txt")
        self.assertIn("NoSuchKey", failure["reason"])
        self.assertIn("prefix", failure["reason"])

    def test_missing_bucket_with_keys_exits_2(self):
        p = self.run_riptide("sync", "s3://no-such-bucket-here", self.dataset, "--key", "a")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("NoSuchBucket", p.stderr)

    def test_selections_are_mutually_exclusive(self):
        keys = os.path.join(self.tmp, "keys.txt")
        with open(keys, "w") as f:
            f.write("p/a.txt\n")
        for args in (["/p", "--key", "p/a.txt"], ["", "--key", "a", "--keys-file", keys],
                     ["", "--key", "a", "--delete"]):
            p, _ = self.sync(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p, _ = self.sync("", "--keys-file", os.path.join(self.tmp, "absent"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read --keys-file", p.stderr)


class KeyListRequestsTest(CommandTestCase):
    def test_a_key_list_never_lists_the_bucket(self):
        proxy = FaultProxy(self.server.port)
        try:
            p = riptide("sync", f"s3://{self.bucket}", self.dataset, "--key", "p/a.txt", "--key", "p/b.bin",
                        "--endpoint", proxy.endpoint, server=self.server)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual([e for e in proxy.log if "list-type" in e.path], [])
            self.assertEqual(sorted(e.method for e in proxy.log), ["GET", "GET", "HEAD", "HEAD"])
        finally:
            proxy.stop()


class ChangeDetectionTest(CommandTestCase):
    def test_checksum_finds_an_edit_that_kept_size_and_mtime(self):
        self.assertEqual(self.sync("/p")[0].returncode, 0)
        path = os.path.join(self.dataset, "sub", "c.txt")
        st = os.stat(path)
        with open(path, "wb") as f:
            f.write(b"CCC")  # same size
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        p, summary = self.sync("/p")
        self.assertEqual(summary["transferred"], 0)  # size and mtime say nothing changed
        p, summary = self.sync("/p", "--checksum")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual((summary["transferred"], summary["drifted"]), (1, 1))
        self.assertEqual(self.read(path), b"ccc")

    def test_newer_last_modified_only_with_newer(self):
        self.assertEqual(self.sync("/p")[0].returncode, 0)
        time.sleep(1.1)  # LastModified has one-second resolution
        self.put({"p/a.txt": b"a"})  # same content, same ETag, newer date
        self.assertEqual(self.sync("/p")[1]["transferred"], 0)
        p, summary = self.sync("/p", "--newer")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(summary["transferred"], 1)
        self.assertEqual(self.sync("/p", "--newer")[1]["transferred"], 0)


class CosEnvironmentTest(CommandTestCase):
    def cos_env(self, **extra):
        env = {"COS_ENDPOINT": self.server.endpoint, "COS_ACCESS_KEY_ID": self.server.access_key,
               "COS_SECRET_ACCESS_KEY": self.server.secret_key, "COS_BUCKET_NAME": self.bucket,
               "DATASET_DIR": self.dataset, "HOME": self.tmp}
        env.update(extra)
        return env

    def test_sync_tree_and_map_from_the_environment(self):
        p = riptide("sync", "--json", env=self.cos_env(COS_PREFIX="p"), clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["transferred"], 4)
        self.assertEqual(tree(self.dataset)["sub/deep/d.bin"], b"dddd")

        p = riptide("--mode", "sync", env=self.cos_env(COS_PREFIX="p"), clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("transferred 0, skipped 4", p.stdout)

        p = riptide("--mode", "tree", "--depth", "1", env=self.cos_env(COS_PREFIX="p"), clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(f"s3://{self.bucket}/p/  (4 objects, 10 B)\n"), p.stdout)

        p = riptide("--mode=map", env=self.cos_env(COS_PREFIX="p"), clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"p/a.txt\t{self.dataset}/a.txt", p.stdout.splitlines())

    def test_object_keys_and_keys_file(self):
        other = os.path.join(self.tmp, "other")
        p = riptide("--mode", "sync", env=self.cos_env(COS_OBJECT_KEYS="p/a.txt, q/other.txt", DATASET_DIR=other),
                    clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(other), {"p/a.txt": b"a", "q/other.txt": b"not under p"})
        keys = os.path.join(self.tmp, "keys.txt")
        with open(keys, "w") as f:
            f.write("p/b.bin\n")
        p = riptide("--mode", "sync", env=self.cos_env(COS_KEYS_FILE=keys), clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"p/b.bin": b"bb"})

    def test_missing_variables_are_named_in_one_line(self):
        p = riptide("--mode", "sync", env={"COS_BUCKET_NAME": self.bucket, "HOME": self.tmp}, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("missing environment variables COS_ENDPOINT, DATASET_DIR", p.stderr)
        p = riptide("--mode", "sync", env=self.cos_env(COS_PREFIX="p", COS_OBJECT_KEYS="a"), clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("mutually exclusive", p.stderr)
        p = riptide("--mode", "status", env=self.cos_env(), clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--mode must be sync, tree or map", p.stderr)
        # Secrets stay out of every message.
        p = riptide("--mode", "sync", "-vv", env=self.cos_env(COS_BUCKET_NAME="no-such-bucket-here"), clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertNotIn(self.server.secret_key, p.stdout + p.stderr)


class RemoteTest(CommandTestCase):
    """NAME:bucket/prefix through riptide.conf and rclone.conf."""

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_rclone_conf_remote_as_rclone_writes_it(self):
        conf = self.write("rclone.conf", (
            "# written by rclone config\n[source]\ntype = s3\nprovider = Ceph\n"
            f"access_key_id = \"{self.server.access_key}\"\nsecret_access_key = {self.server.secret_key}\n"
            f"endpoint = {self.server.endpoint}\n\n[gdrive]\ntype = drive\n"))
        # No AWS_* credentials at all: they come from the remote.
        env = {"HOME": self.tmp, "PATH": os.environ["PATH"]}
        p = riptide("sync", f"source:{self.bucket}/p", self.dataset, "--rclone-config", conf, "--json",
                    env=env, clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["transferred"], 4)
        self.assertEqual(tree(self.dataset)["sub/c.txt"], b"ccc")
        p = riptide("tree", f"source:{self.bucket}/p", "--depth", "1", env=dict(env, RCLONE_CONFIG=conf),
                    clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(f"s3://{self.bucket}/p/  (4 objects"), p.stdout)
        p = riptide("ls", f"gdrive:{self.bucket}", "--rclone-config", conf, env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("'drive' remote", p.stderr)

    def test_riptide_conf_remote_with_secret_from_the_environment(self):
        os.makedirs(os.path.join(self.tmp, ".config", "riptide"))
        self.write(os.path.join(".config", "riptide", "riptide.conf"), (
            f"[store]\nendpoint = {self.server.endpoint}\naddressing = path\n"
            f"access_key_id = {self.server.access_key}\nsecret_access_key_env = STORE_SECRET\n"))
        env = {"HOME": self.tmp, "PATH": os.environ["PATH"], "STORE_SECRET": self.server.secret_key}
        p = riptide("sync", f"store:{self.bucket}/p", self.dataset, "--json", env=env, clean_env=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["transferred"], 4)
        del env["STORE_SECRET"]
        p = riptide("sync", f"store:{self.bucket}/p", self.dataset, env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("STORE_SECRET, which is not set", p.stderr)

    def test_unknown_remote_and_unreadable_config_are_one_line_exit_2(self):
        env = {"HOME": self.tmp, "PATH": os.environ["PATH"]}
        p = riptide("sync", f"nowhere:{self.bucket}", self.dataset, env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no remote named 'nowhere'", p.stderr)
        p = riptide("sync", f"x:{self.bucket}", self.dataset, "--config", os.path.join(self.tmp, "absent.conf"),
                    env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read the config file", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        # A DST remote is resolved like a SRC one.
        p = riptide("sync", f"s3://{self.bucket}", "dst:bucket", env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no remote named 'dst'", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        # Neither side a bucket.
        p = riptide("sync", self.tmp, self.dataset, env=env, clean_env=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("one of SRC and DST must be a bucket", p.stderr)


@unittest.skipUnless(SERVER == "moto", "s3rver implements neither ListMultipartUploads nor AbortMultipartUpload")
class CleanupTest(CommandTestCase):
    def start_upload(self, key):
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)
        self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 1024)
        return up["UploadId"]

    def uploads(self):
        return sorted(u["Key"] for u in self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))

    def test_cleanup_aborts_old_unfinished_uploads_only(self):
        for key in ("p/stale one.bin", "p/sub/stale2.bin", "q/elsewhere.bin"):
            self.start_upload(key)
        url = f"s3://{self.bucket}/p"
        # moto reports every upload as begun on 2010-11-10 (a fixed date in its
        # template), so "too young to abort" is shown with an age beyond that.
        p = self.run_riptide("cleanup", url, "--older-than", "36500d")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("2 unfinished uploads, 0 aborted, 2 younger than 36500d kept", p.stdout)
        p = self.run_riptide("cleanup", url, "--older-than", "0s", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("would abort p/stale one.bin", p.stdout)
        self.assertEqual(len(self.uploads()), 3)

        p = self.run_riptide("cleanup", url, "--older-than", "0s", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout)
        self.assertEqual((summary["uploads"], summary["aborted"]), (2, 2))
        self.assertEqual(sorted(u["key"] for u in summary["listed"]), ["p/stale one.bin", "p/sub/stale2.bin"])
        self.assertEqual(self.uploads(), ["q/elsewhere.bin"])  # outside the prefix
        # Objects are never touched.
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="p/a.txt")["Body"].read(), b"a")

    def test_bad_duration_and_bucket_are_exit_2(self):
        p = self.run_riptide("cleanup", f"s3://{self.bucket}", "--older-than", "soon")
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a duration", p.stderr)
        p = self.run_riptide("cleanup", "s3://no-such-bucket-here", "--older-than", "0s")
        self.assertEqual(p.returncode, 2)
        self.assertIn("NoSuchBucket", p.stderr)


if __name__ == "__main__":
    unittest.main()
