"""kill -9 during a mixed sync, 20 times, each kill timed on observed progress: after
bytes of a large object went out, or after a part of one was journalled. After every kill
nothing wrong sits under a final name; the run that finally completes leaves the dataset
equal to the bucket, the manifest matching the files, no temp file; across all runs the
large objects were served at most once plus the parts in flight at each kill, and every
large object resumed by the last run was fetched there for strictly less than its size."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, ServerTestCase, journalled_parts, riptide, tree, wait_until

KiB, MiB = 1 << 10, 1 << 20
PART = 256 * KiB
CONCURRENCY = 4
KILLS = 20


def mixed_objects(rng):
    objects = {f"mix/{i % 5}/small-{i:03d}.bin": rng.randbytes(rng.randrange(0, 300 * KiB)) for i in range(80)}
    # Large enough that twenty kills' worth of trickled progress cannot finish them all:
    # at 5-9 MiB a loaded machine once saw the last kill come after the last large object.
    for i in range(4):
        objects[f"mix/large-{i}.bin"] = rng.randbytes(rng.randrange(10 * MiB, 16 * MiB))
    return objects


class KillNineTest(ServerTestCase):
    def test_twenty_kills_lose_nothing(self):
        rng = random.Random(20261122)
        objects = mixed_objects(rng)
        large = {k.split("/", 1)[1]: len(v) for k, v in objects.items() if "large" in k}
        self.put(objects)
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        # About 1 MB/s per connection: every kill lands while large objects are in flight.
        proxy.add(Rule(lambda m, path, h: m == "GET" and "/mix/" in path, "trickle", times=10**9,
                       chunk=32 * KiB, seconds=0.03))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        args = [BIN, "sync", f"s3://{self.bucket}/mix", self.dataset, "--endpoint", proxy.endpoint,
                "--part-size", str(PART), "--concurrency", str(CONCURRENCY), "--json", "--no-progress"]
        served = lambda: sum(proxy.bytes_served(name) for name in large)  # noqa: E731
        for kill in range(KILLS):
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if kill % 2:
                # A part of a large object, not any part: small objects over the part size
                # come first in the listing, and a kill after one of theirs, every time,
                # once left no large object with a part on record.
                parts = journalled_parts(self.dataset, like="%/large-%")
                wait_until(lambda: journalled_parts(self.dataset, like="%/large-%") > parts or proc.poll() is not None,
                           "a part of a large object journalled")
            else:
                target = served() + rng.randrange(64 * KiB, 1 * MiB)
                wait_until(lambda: served() >= target or proc.poll() is not None, "large-object bytes")
            if proc.poll() is not None:
                self.fail(f"the sync finished after {kill} kills: the workload is too small to kill {KILLS} times")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.assert_only_whole_objects(objects)

        before_last = {name: proxy.bytes_served(name) for name in large}
        journalled = {key.split("/", 1)[1] for key in self.journalled_keys()} & set(large)
        proxy.clear(keep_log=True)  # full speed for the run that completes; the counts go on
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout)
        in_last = {name: proxy.bytes_served(name) - before_last[name] for name in large}

        self.assertEqual(tree(self.dataset), {k[len("mix/"):]: v for k, v in objects.items()})
        temps = [f for _, _, files in os.walk(self.dataset) for f in files if ".riptide-tmp-" in f]
        self.assertEqual(temps, [])
        v = riptide("verify", self.dataset, "--json")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(json.loads(v.stdout)["checked"], len(objects))
        total = sum(before_last.values()) + sum(in_last.values())
        print(f"\n{KILLS} kills survived; large objects: {total} bytes served over all runs for "
              f"{sum(large.values())}, {summary['bytes_resumed']} resumed by the last run", flush=True)
        # Over all runs, only the parts in flight at each kill were fetched twice.
        self.assertLessEqual(total, sum(large.values()) + KILLS * CONCURRENCY * PART)
        self.assertGreater(summary["bytes_resumed"], 0, "the last run resumed nothing")
        self.assertTrue(journalled, "no part of a large object was journalled before the last run")
        for name in journalled:  # a part of it was on record: the last run fetched less than all of it
            self.assertLess(in_last[name], large[name], f"{name} was fetched whole again")

    def journalled_keys(self):
        db = os.path.join(self.dataset, ".riptide", "manifest.db")
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return {key for (key,) in conn.execute("SELECT DISTINCT key FROM partial_parts")}
        finally:
            conn.close()

    def assert_only_whole_objects(self, objects):
        """Every file under its final name is its object, byte for byte; every manifest
        row names such a file."""
        for rel, data in tree(self.dataset).items():
            if ".riptide-tmp-" in rel:
                continue
            self.assertEqual(data, objects.get("mix/" + rel), f"{rel} is not its object's content")
        db = os.path.join(self.dataset, ".riptide", "manifest.db")
        if os.path.exists(db):
            conn = sqlite3.connect(db)
            try:
                for key, path, size in conn.execute("SELECT key, path, size FROM objects"):
                    with open(os.path.join(self.dataset, path), "rb") as f:
                        self.assertEqual(f.read(), objects[key], f"manifest row {key} does not match its file")
            finally:
                conn.close()


if __name__ == "__main__":
    unittest.main()
