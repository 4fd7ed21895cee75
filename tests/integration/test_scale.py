"""Scale: memory stays flat whatever the bucket holds (s3rver, seeded through its store)."""
import json
import os
import subprocess
import unittest

from support import BIN, SERVER, ServerTestCase, tree


def peak_rss_kib(args, env):
    """Runs riptide and returns (exit code, stdout, its own peak RSS in KiB)."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, usage.ru_maxrss


class MemoryTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if SERVER != "s3rver":
            raise unittest.SkipTest("seeding thousands of objects needs s3rver's store; moto would need PUTs")
        super().setUpClass()

    def mirror(self, bucket, count):
        self.s3.create_bucket(Bucket=bucket)
        self.server.seed_store(bucket, {f"d/{i % 37:02d}/obj-{i:06d}": bytes([i % 251]) for i in range(count)})
        dataset = os.path.join(self.tmp, bucket)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        code, out, rss = peak_rss_kib([BIN, "sync", f"s3://{bucket}/d", dataset, "--endpoint", self.server.endpoint,
                                       "--page-size", "200", "--json"], env)
        self.assertEqual(code, 0, out)
        self.assertEqual(json.loads(out)["transferred"], count)
        self.assertEqual(len(tree(dataset)), count)
        return rss

    def test_peak_memory_does_not_grow_with_the_bucket(self):
        small = self.mirror("flat-small", 300)
        large = self.mirror("flat-large", 6000)
        # Twenty times the objects and thirty pages more: memory may not follow.
        self.assertLess(large - small, 8 * 1024, f"peak RSS {small} KiB for 300 objects, {large} KiB for 6000")


if __name__ == "__main__":
    unittest.main()
