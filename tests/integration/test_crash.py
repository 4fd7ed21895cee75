"""kill -9 at seeded random moments during a mixed sync, 20 times and more: after
every kill nothing wrong sits under a final name, and the run that finally completes
leaves the dataset equal to the bucket, the manifest matching the files, no temp file,
and large objects fetched only once apart from the parts in flight at each kill."""
import json
import os
import random
import signal
import subprocess
import time
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, SERVER, ServerTestCase, riptide, tree

KiB, MiB = 1 << 10, 1 << 20
PART = 256 * KiB
CONCURRENCY = 4
KILLS = 20


def mixed_objects(rng):
    objects = {f"mix/{i % 5}/small-{i:03d}.bin": rng.randbytes(rng.randrange(0, 300 * KiB)) for i in range(80)}
    for i in range(4):
        objects[f"mix/large-{i}.bin"] = rng.randbytes(rng.randrange(5 * MiB, 9 * MiB))
    return objects


@unittest.skipUnless(SERVER == "moto", "bytes served are counted by the fault proxy, in front of moto")
class KillNineTest(ServerTestCase):
    def test_twenty_kills_lose_nothing(self):
        rng = random.Random(20261122)
        objects = mixed_objects(rng)
        self.put(objects)
        proxy = FaultProxy(self.server.port)
        # About 1 MB/s per connection: a run takes long enough for every kill to land mid-way.
        proxy.add(Rule(lambda m, path, h: m == "GET" and "/mix/" in path, "trickle", times=10**9,
                       chunk=32 * KiB, seconds=0.03))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        args = [BIN, "sync", f"s3://{self.bucket}/mix", self.dataset, "--endpoint", proxy.endpoint,
                "--part-size", str(PART), "--concurrency", str(CONCURRENCY), "--json", "--no-progress"]
        try:
            kills = 0
            while kills < KILLS:
                proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.2, 1.2))
                if proc.poll() is not None:
                    self.fail(f"the sync finished after {kills} kills: the workload is too small to kill 20 times")
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                self.assert_only_whole_objects(objects)

            proxy.clear()  # full speed for the run that completes
            p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            summary = json.loads(p.stdout)
        finally:
            served = {k: proxy.bytes_served(k.split("/", 1)[1]) for k in objects if "large" in k}
            proxy.stop()

        self.assertEqual(tree(self.dataset), {k[len("mix/"):]: v for k, v in objects.items()})
        temps = [f for _, _, files in os.walk(self.dataset) for f in files if ".riptide-tmp-" in f]
        self.assertEqual(temps, [])
        v = riptide("verify", self.dataset, "--json")
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertEqual(json.loads(v.stdout)["checked"], len(objects))
        # Resumed large objects fetched only what they lacked: at most the parts in flight
        # at each kill (CONCURRENCY parts) beyond their size, not their whole size again.
        slack = KILLS * CONCURRENCY * PART
        large = sum(len(v) for k, v in objects.items() if "large" in k)
        print(f"\n{KILLS} kills survived; large objects: {sum(served.values())} bytes served for {large}, "
              f"{summary['bytes_resumed']} resumed by the last run", flush=True)
        self.assertLessEqual(sum(served.values()), large + slack, served)
        self.assertGreaterEqual(sum(served.values()), large - summary["bytes_resumed"])

    def assert_only_whole_objects(self, objects):
        """Every file under its final name is its object, byte for byte; every manifest
        row names such a file."""
        for rel, data in tree(self.dataset).items():
            if ".riptide-tmp-" in rel:
                continue
            self.assertEqual(data, objects.get("mix/" + rel), f"{rel} is not its object's content")
        db = os.path.join(self.dataset, ".riptide", "manifest.db")
        if os.path.exists(db):
            import sqlite3
            conn = sqlite3.connect(db)
            try:
                for key, path, size in conn.execute("SELECT key, path, size FROM objects"):
                    with open(os.path.join(self.dataset, path), "rb") as f:
                        self.assertEqual(f.read(), objects[key], f"manifest row {key} does not match its file")
            finally:
                conn.close()


if __name__ == "__main__":
    unittest.main()
