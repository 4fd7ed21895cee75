"""A real Slurm cluster on this machine (slurm-wlm + munge, started by the test) runs
deploy/slurm/riptide-array.sbatch as an array of 4 tasks mirroring a bucket on s3rver
into one directory: the union equals the bucket, the shards are disjoint and each
manifest holds only its range, and a task that failed completes the dataset when it is
re-run alone."""
import json
import os
import sqlite3
import unittest

from slurm_cluster import SlurmCluster, missing_tools
from support import BIN, ROOT, SERVER, ServerTestCase, riptide, tree

SCRIPT = os.path.join(ROOT, "deploy", "slurm", "riptide-array.sbatch")


class SlurmArrayTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if SERVER != "s3rver":
            raise unittest.SkipTest("runs once, in the s3rver suite")
        missing = missing_tools()
        if missing:
            raise AssertionError(f"Slurm is missing ({', '.join(missing)}): scripts/setup.sh --test-tools "
                                 "installs Debian's slurm-wlm and munge")
        if os.geteuid() != 0:
            raise AssertionError("the Slurm test starts slurmctld, slurmd and munged: it needs root")
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.cluster = SlurmCluster(os.path.join(self.tmp, "slurm"))
        self.addCleanup(self.cluster.stop)
        self.objects = {f"d/{c}/{i:02d}.bin": os.urandom(200 + 3000 * (i % 4)) for c in "wxyz" for i in range(12)}
        self.put(self.objects)
        self.plan = os.path.join(self.tmp, "shards.json")
        p = riptide("shard", "plan", f"s3://{self.bucket}/d", "--shards", "4", "--out", self.plan,
                    "--endpoint", self.server.endpoint, server=self.server)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.env = {"SRC": f"s3://{self.bucket}/d", "DEST": self.dataset, "PLAN": self.plan, "RIPTIDE": BIN,
                    "RIPTIDE_ARGS": f"--endpoint {self.server.endpoint}",
                    "AWS_ACCESS_KEY_ID": self.server.access_key, "AWS_SECRET_ACCESS_KEY": self.server.secret_key}

    def shard_keys(self, index):
        db = sqlite3.connect(os.path.join(self.dataset, ".riptide", "shards", f"{index}-of-4", "manifest.db"))
        try:
            return sorted(r[0] for r in db.execute("SELECT key FROM objects"))
        finally:
            db.close()

    def test_an_array_of_four_mirrors_one_dataset_and_a_failed_task_reruns_alone(self):
        # Task 2 fails: its state directory is taken by a file.
        os.makedirs(os.path.join(self.dataset, ".riptide", "shards"))
        blocker = os.path.join(self.dataset, ".riptide", "shards", "2-of-4")
        with open(blocker, "w") as f:
            f.write("not a directory")
        code, job, err = self.cluster.sbatch(SCRIPT, "0-3", self.env)
        self.assertNotEqual(code, 0, "the array should report task 2's failure")
        self.assertTrue(job, err)
        with open(self.plan) as f:
            shards = json.load(f)["shards"]
        got = tree(self.dataset)
        self.assertEqual(len(got), 48 - shards[2]["objects"], self.cluster.task_logs())

        os.remove(blocker)
        code, _, err = self.cluster.sbatch(SCRIPT, "2", self.env)
        self.assertEqual(code, 0, err + self.cluster.task_logs())
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in self.objects.items()})
        union = []
        for i, s in enumerate(shards):
            keys = self.shard_keys(i)
            self.assertTrue(all(k > s["after"] and (not s["last"] or k <= s["last"]) for k in keys), (i, keys))
            union += keys
        self.assertEqual(sorted(union), sorted(self.objects))  # disjoint, and everything
        self.assertEqual(riptide("verify", self.dataset).returncode, 0)


if __name__ == "__main__":
    unittest.main()
