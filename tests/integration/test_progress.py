"""The progress line a person sees on a terminal (stderr a TTY): counts as it goes, and
once the listing is done the share of bytes done and the time left."""
import os
import re
import unittest

from fault_proxy import FaultProxy, Rule
from support import BIN, ServerTestCase, run_on_terminal


class ProgressLineTest(ServerTestCase):
    def drawn(self, concurrency):
        """The progress lines of a sync whose GETs take 0.4 s each, and its stdout."""
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        # Each object's GET takes 0.4 s: a run of a few seconds, drawn every half second.
        proxy.add(Rule(lambda m, path, h: m == "GET" and "obj-" in path, "delay", times=10**9, seconds=0.4))
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        code, out, lines = run_on_terminal([BIN, "sync", f"s3://{self.bucket}/p", self.dataset, "--endpoint",
                                            proxy.endpoint, "--concurrency", concurrency], env)
        self.assertEqual(code, 0, lines)
        return [line for line in lines if line.lstrip().startswith("listed")], out

    def test_totals_share_and_eta_once_the_listing_is_done(self):
        self.put({f"p/obj-{i}.bin": os.urandom(200_000) for i in range(8)})
        drawn, out = self.drawn("1")
        self.assertGreaterEqual(len(drawn), 3, drawn)
        self.assertFalse([line for line in drawn if "in flight" in line])  # a fixed number is not news
        with_eta = [line for line in drawn if re.search(r"of 1\.5 MiB \(\d+%\)  ETA \d+:\d\d", line)]
        self.assertTrue(with_eta, drawn)
        # One page holds the listing, and it says it is the last (key ranges or not): the
        # share shows from the first line drawn, not only once the last object is planned.
        self.assertEqual([line for line in drawn if re.search(r" of [\d.]+ [KM]iB \(\d+%\)", line) is None], [],
                         drawn)
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
