"""Shards against a real S3 server: `riptide shard plan` writes contiguous, balanced key
ranges; four `riptide sync --shard-plan` workers fill one dataset at once, each with a
manifest holding only its range; `status`, `verify` and `export` see the union; `--delete`
in one shard never touches another's keys; a shard that did not run completes the dataset
when it does; the shard index comes from --shard, SLURM_ARRAY_TASK_ID or
JOB_COMPLETION_INDEX."""
import json
import os
import sqlite3
import subprocess
import unittest

from support import BIN, ServerTestCase, riptide, tree


def shard_keys(dataset, index, count):
    db = sqlite3.connect(os.path.join(dataset, ".riptide", "shards", f"{index}-of-{count}", "manifest.db"))
    try:
        return sorted(r[0] for r in db.execute("SELECT key FROM objects"))
    finally:
        db.close()


class ShardTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        # Sizes vary so bytes weigh in the balance; no key is a prefix of another.
        self.objects = {f"d/{c}/obj-{i:02d}.bin": os.urandom(100 + 4000 * (i % 5)) for c in "abcd" for i in range(10)}
        self.put(self.objects)
        self.plan = os.path.join(self.tmp, "shards.json")

    def make_plan(self, shards=4):
        p = riptide("shard", "plan", f"s3://{self.bucket}/d", "--shards", str(shards), "--out", self.plan,
                    "--endpoint", self.server.endpoint, server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.plan) as f:
            return json.load(f)

    def worker(self, index=None, *extra, env=None):
        args = [BIN, "sync", f"s3://{self.bucket}/d", self.dataset, "--shard-plan", self.plan,
                "--endpoint", self.server.endpoint, *extra]
        if index is not None:
            args += ["--shard", str(index)]
        full = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                    AWS_SECRET_ACCESS_KEY=self.server.secret_key, **(env or {}))
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)


class PlanTest(ShardTestCase):
    def test_plan_is_contiguous_and_balanced(self):
        plan = self.make_plan()
        shards = plan["shards"]
        self.assertEqual(len(shards), 4)
        self.assertEqual((plan["bucket"], plan["prefix"], plan["objects"]), (self.bucket, "d/", 40))
        self.assertEqual(plan["bytes"], sum(len(b) for b in self.objects.values()))
        self.assertEqual(shards[0]["after"], "")
        self.assertEqual(shards[-1]["last"], "")
        for a, b in zip(shards, shards[1:]):
            self.assertEqual(a["last"], b["after"])
            self.assertLess(b["after"], b["last"] or "\uffff")
        self.assertEqual(sum(s["objects"] for s in shards), 40)
        self.assertTrue(all(5 <= s["objects"] <= 15 for s in shards), shards)
        # More shards than objects: no empty range between two keys.
        self.assertLessEqual(len(self.make_plan(100)["shards"]), 40)


class WorkersTest(ShardTestCase):
    def test_four_workers_fill_one_dataset_then_status_verify_and_delete(self):
        self.make_plan()
        # At once, into one directory; half list one page after another, half by key range:
        # both listings must end at the shard's last key.
        workers = [self.worker(i, "--json", "--list-concurrency", "1" if i % 2 == 0 else "4") for i in range(4)]
        outs = [w.communicate(timeout=300) for w in workers]
        for w, (out, err) in zip(workers, outs):
            self.assertEqual(w.returncode, 0, err)
        self.assertEqual(sum(json.loads(out)["transferred"] for out, _ in outs), 40)
        expected = {k[2:]: v for k, v in self.objects.items()}
        self.assertEqual(tree(self.dataset), expected)
        with open(self.plan) as f:
            plan = json.load(f)
        seen = []
        for i, s in enumerate(plan["shards"]):
            keys = shard_keys(self.dataset, i, 4)
            self.assertTrue(keys, f"shard {i} recorded nothing")
            self.assertTrue(all(k > s["after"] and (not s["last"] or k <= s["last"]) for k in keys), (i, keys))
            seen += keys
        self.assertEqual(sorted(seen), sorted(self.objects))  # disjoint, and together everything

        p = riptide("status", self.dataset, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["objects"], 40)
        p = riptide("verify", self.dataset)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = riptide("export", self.dataset, "--csv", "-")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = p.stdout.strip().split("\n")[1:]
        self.assertEqual([r.split(",")[0] for r in rows], sorted(self.objects))

        # --delete in shard 0 removes shard 0's vanished key, never shard 3's.
        first, last = shard_keys(self.dataset, 0, 4)[0], shard_keys(self.dataset, 3, 4)[-1]
        for key in (first, last):
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        w = self.worker(0, "--delete")
        _, err = w.communicate(timeout=300)
        self.assertEqual(w.returncode, 0, err)
        files = tree(self.dataset)
        self.assertNotIn(first[2:], files)
        self.assertIn(last[2:], files)

    def test_a_shard_that_did_not_run_completes_the_dataset_and_the_index_comes_from_the_scheduler(self):
        self.make_plan()
        # Shard 2 "failed": the others ran, as Slurm and Kubernetes name them.
        runs = [self.worker(None, env={"SLURM_ARRAY_TASK_ID": "0"}), self.worker(1),
                self.worker(None, env={"JOB_COMPLETION_INDEX": "3"})]
        for w in runs:
            _, err = w.communicate(timeout=300)
            self.assertEqual(w.returncode, 0, err)
        with open(self.plan) as f:
            missing = json.load(f)["shards"][2]["objects"]
        self.assertEqual(len(tree(self.dataset)), 40 - missing)
        w = self.worker(None, env={"SLURM_ARRAY_TASK_ID": "2"})  # the re-run
        _, err = w.communicate(timeout=300)
        self.assertEqual(w.returncode, 0, err)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in self.objects.items()})

    def test_what_a_worker_refuses(self):
        self.make_plan()
        cases = [
            ([], {}, "which shard?"),
            (["--shard", "4"], {}, "--shard 4 is past the plan's 4 shards"),
            ([], {"SLURM_ARRAY_TASK_ID": "x"}, "SLURM_ARRAY_TASK_ID is not a number"),
        ]
        for extra, env, message in cases:
            w = self.worker(None, *extra, env=env)
            _, err = w.communicate(timeout=60)
            self.assertEqual(w.returncode, 2, err)
            self.assertIn(message, err)
        p = riptide("sync", f"s3://{self.bucket}/other", self.dataset, "--shard-plan", self.plan, "--shard", "0",
                    "--endpoint", self.server.endpoint, server=self.server)
        self.assertEqual(p.returncode, 2)
        self.assertIn("was made for s3://" + self.bucket + "/d/", p.stderr)
        p = riptide("sync", f"s3://{self.bucket}/d", f"s3://{self.bucket}-copy/", "--shard-plan", self.plan,
                    "--endpoint", self.server.endpoint, server=self.server)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--shard-plan applies to downloads into a directory", p.stderr)
        with open(self.plan, "w") as f:
            f.write('{"riptide_shard_plan": 1, "bucket": "b", "prefix": "", "shards": [{"after": "x", "last": ""}]}')
        w = self.worker(0)
        _, err = w.communicate(timeout=60)
        self.assertEqual(w.returncode, 2)
        self.assertIn("does not continue the ranges before it", err)


if __name__ == "__main__":
    unittest.main()
