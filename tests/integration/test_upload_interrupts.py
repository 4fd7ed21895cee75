"""Uploads interrupted where it hurts: a part held at the fault proxy while riptide is
stopped with SIGINT (the upload is aborted at once) or killed (the next run aborts it)."""
import os
import signal
import subprocess
import time
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, wait_until
from test_migrate import MiB, MigrateTestCase, body


class InjectedFailureTest(MigrateTestCase):
    server_kind = "moto"  # the proxy forwards signatures untouched; moto lists uploads

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "up")
        os.makedirs(self.root)
        self.data = body(12 * MiB, 5)
        with open(os.path.join(self.root, "big"), "wb") as f:
            f.write(self.data)
        self.proxy = FaultProxy(self.server.port)
        self.addCleanup(self.proxy.stop)
        self.args = ["sync", self.root, f"s3://{self.dst}/up", "--part-size", "5M"]

    def start_hung_upload(self):
        """riptide uploading `big` in 5 MiB parts, its part 2 hanging at the proxy."""
        self.proxy.rules.append(Rule(lambda m, path, h: m == "PUT" and "partNumber=2" in path, "delay", seconds=30))
        cmd = [BIN, *self.args, "--endpoint", self.proxy.endpoint]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_key, XDG_STATE_HOME=os.path.join(self.tmp, "state"))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        def only_part_2_outstanding():
            parts = {e.path.split("partNumber=")[1].split("&")[0]: e.status
                     for e in list(self.proxy.log) if e.method == "PUT" and "partNumber=" in e.path}
            return "2" in parts and parts.get("1") and parts.get("3")
        wait_until(only_part_2_outstanding, "parts 1 and 3 answered, part 2 held at the proxy", 20)
        return proc, cmd, env

    def finish_cleanly(self):
        self.proxy.rules.clear()
        p, s = self.run_riptide(*self.args, endpoint=self.proxy.endpoint)
        self.assertEqual((p.returncode, s["transferred"]), (0, 1), p.stderr)
        self.assertEqual(self.uploads(self.dst), [])
        self.assertEqual(self.content(self.dst, "up/big"), self.data)

    def test_failed_part_aborts_the_upload_and_the_next_run_completes(self):
        self.proxy.rules.append(Rule(lambda m, path, h: m == "PUT" and "partNumber=2" in path, "status",
                                     times=100, status=500, code="InternalError"))
        p, s = self.run_riptide(*self.args, "--retries", "1", endpoint=self.proxy.endpoint)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(s["failed"], 1)
        self.assertIn("InternalError", s["failures"][0]["reason"])
        self.assertEqual(self.uploads(self.dst), [])  # aborted: nothing left behind
        self.assertTrue(any(e.method == "DELETE" and "uploadId=" in e.path for e in self.proxy.log))
        self.assertNotIn("big", self.objects(self.dst, "up/"))
        self.finish_cleanly()

    def test_interrupted_upload_is_aborted(self):
        proc, _, _ = self.start_hung_upload()
        started = time.time()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 130, err)
        self.assertLess(time.time() - started, 5)
        self.assertEqual(self.uploads(self.dst), [])
        self.assertNotIn("big", self.objects(self.dst, "up/"))
        self.finish_cleanly()

    def test_killed_upload_is_aborted_by_the_next_run(self):
        proc, cmd, env = self.start_hung_upload()
        # A second riptide into the same place is refused while the first runs.
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(second.returncode, 2, second.stderr)
        self.assertIn("another riptide is copying into", second.stderr)
        proc.kill()
        proc.communicate()
        self.assertEqual(len(self.uploads(self.dst)), 1)  # a kill -9 leaves the upload open ...
        self.finish_cleanly()                               # ... and the next run aborts it


if __name__ == "__main__":
    unittest.main()
