"""The progress line a person sees on a terminal (stderr a TTY): counts as it goes, and
once the listing is done the share of bytes done and the time left."""
import os
import pty
import re
import subprocess
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, ServerTestCase


class ProgressLineTest(ServerTestCase):
    def drawn(self, concurrency):
        """The progress lines of a sync whose GETs take 0.4 s each, and its stdout."""
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        # Each object's GET takes 0.4 s: a run of a few seconds, drawn every half second.
        proxy.add(Rule(lambda m, path, h: m == "GET" and "obj-" in path, "delay", times=10**9, seconds=0.4))
        primary, secondary = pty.openpty()
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        p = subprocess.Popen([BIN, "sync", f"s3://{self.bucket}/p", self.dataset, "--endpoint", proxy.endpoint,
                              "--concurrency", concurrency], env=env, stdout=subprocess.PIPE, stderr=secondary)
        os.close(secondary)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed with the last writer
                break
            if not chunk:
                break
            seen += chunk
        os.close(primary)
        out, _ = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, seen)
        lines = [line for line in re.split(rb"\r\x1b\[K", seen) if line.strip()]
        return [line.decode() for line in lines if line.lstrip().startswith(b"listed")], out

    def test_totals_share_and_eta_once_the_listing_is_done(self):
        self.put({f"p/obj-{i}.bin": os.urandom(200_000) for i in range(8)})
        drawn, out = self.drawn("1")
        self.assertGreaterEqual(len(drawn), 3, drawn)
        self.assertFalse([line for line in drawn if "in flight" in line])  # a fixed number is not news
        with_eta = [line for line in drawn if re.search(r"of 1\.5 MiB \(\d+%\)  ETA \d+:\d\d", line)]
        self.assertTrue(with_eta, drawn)
        shares = [int(re.search(r"\((\d+)%\)", line).group(1)) for line in drawn if "%)" in line]
        self.assertEqual(shares, sorted(shares))  # the share only grows
        self.assertIn(b"listed 8, transferred 8", out)

    def test_auto_shows_the_number_in_flight(self):
        self.put({f"p/obj-{i}.bin": os.urandom(20_000) for i in range(40)})
        drawn, out = self.drawn("auto")
        self.assertTrue(drawn)
        for line in drawn:
            self.assertRegex(line, r"  \d+ in flight  failed 0")
        self.assertIn(b"listed 40, transferred 40", out)


if __name__ == "__main__":
    unittest.main()
