"""--concurrency auto against a real S3 server behind the fault proxy: it raises the
number in flight while that pays (a server 100 ms away), backs off when the server
answers SlowDown above a cap of requests in flight, and says what it settled on in the
summary; a fixed number still means exactly that many."""
import collections
import os
import re
import time
import unittest

from fault_proxy import FaultProxy
from serve_support import ServeTestCase
from strace_log import STRACE, traced_riptide
from support import SERVER, ServerTestCase, riptide, tree
from test_faults import FaultTestCase

KiB = 1 << 10
MiB = 1 << 20


def objects(prefix, n, size=16 * KiB):
    return {f"{prefix}/o{i:04d}.bin": bytes([i % 251]) * size for i in range(n)}


def md5_lanes_width():
    """How many MD5 streams riptide hashes side by side on this CPU (0: no lanes), as its
    --version tells ("MD5: 8 streams in AVX2 lanes", or "MD5: portable, …")."""
    out = riptide("--version").stdout
    m = re.search(r"^MD5: (?:(\d+) streams in|portable)", out, re.M)
    if not m:
        raise AssertionError(f"riptide --version names no MD5 code: {out!r}")
    return int(m.group(1) or 0)


class AutoConcurrencyTest(FaultTestCase):
    def test_it_raises_the_number_in_flight_while_that_pays(self):
        self.put(objects("far", 300))
        self.proxy.latency = 0.1  # every request waits: more in flight, more done a second
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/far", self.dataset, "--concurrency", "auto",
                                "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 300)
        self.assertTrue(s["concurrency_auto"])
        self.assertGreaterEqual(s["concurrency_peak"], 64, s)  # from 16, doubling while it paid
        self.assertGreater(self.proxy.peak, 8)
        self.assertEqual(s["throttled"], 0)
        self.assertEqual(len(tree(self.dataset)), 300)
        # Never above what the memory limit affords (32 MiB: 32 requests in flight).
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/far", os.path.join(self.tmp, "lean"),
                                "--concurrency", "auto", "--list-concurrency", "1", "--memory-limit", "32MiB")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["concurrency_peak"], 32, s)

    def test_it_starts_at_16(self):
        # Where auto starts decides a short run, and a long one's first seconds: 8 left
        # runs on mixed sizes at 8-16 for good. Four objects never fill 16 slots, so the
        # start is all the run shows.
        self.put(objects("few", 4))
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/few", self.dataset, "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(s["concurrency_auto"])
        self.assertEqual((s["concurrency"], s["concurrency_peak"]), (16, 16), s)

    def test_latency_alone_does_not_hold_it_under_64(self):
        # A server that serves one request at a time: more in flight only waits longer, a
        # latency the rules would cut to within 3 x of what 16 needed (44 here). Under 64
        # a request in flight costs a quarter MiB, and on s3rver runs held at 16-27 by
        # latency made 0.8 x what 64 did: only a refusal or a clear loss holds it lower.
        # 1,600 objects, about 13 s at the desk's pace: without a floor the latency cut comes
        # some 5 s in, later when a loaded machine's noisy periods set probes going, and a
        # run of 800 ended before it in one of four such runs.
        self.put(objects("desk", 1600, size=KiB))
        self.proxy.serial = 0.008
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/desk", self.dataset, "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 1600)
        self.assertTrue(s["concurrency_auto"])
        self.assertGreaterEqual(s["concurrency_peak"], 64, s)
        # (Not bounded above: on a loaded machine the desk's pace is noisy enough that a
        # doubling past 64 can look as if it paid; the unit tests bound that.)
        self.assertGreaterEqual(s["concurrency"], 64, s)
        self.assertGreaterEqual(self.proxy.peak, 64)  # the server saw them waiting, not just the report
        self.assertEqual(s["throttled"], 0)

    def test_it_backs_off_below_a_servers_cap(self):
        self.put(objects("cap", 400))
        self.proxy.latency = 0.05
        self.proxy.cap = 12
        # A fixed 64 runs into the cap again and again (auto is the default: 64 is asked for) ...
        p, fixed = self.run_riptide("sync", f"s3://{self.bucket}/cap", os.path.join(self.tmp, "fixed"),
                                    "--concurrency", "64", "--list-concurrency", "1")
        self.assertEqual(fixed["concurrency"], 64)
        self.assertNotIn("concurrency_auto", fixed)
        # (about a fifth of its requests here; a tenth is the floor, as a busy machine
        # slows the proxy and lets fewer requests meet the cap at once)
        self.assertGreater(fixed["throttled"], 0.1 * fixed["requests"], fixed)
        refused_fixed = self.proxy.refused
        # ... auto finds it and stays under it, with a few SlowDowns on the way.
        self.proxy.refused = 0
        p, auto = self.run_riptide("sync", f"s3://{self.bucket}/cap", self.dataset, "--concurrency", "auto",
                                   "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(auto["transferred"], 400)
        # It went past the cap and came back (a short run may end while it climbs again,
        # under the number the server last refused).
        self.assertLess(auto["concurrency"], auto["concurrency_peak"], auto)
        self.assertLessEqual(auto["concurrency"], 16, auto)
        self.assertLess(auto["throttled"], fixed["throttled"] / 4, (auto, fixed))
        self.assertLessEqual(auto["throttled"], 0.1 * auto["requests"], auto)
        self.assertLess(self.proxy.refused, refused_fixed / 4)
        self.assertEqual(len(tree(self.dataset)), 400)

    def test_uploads_and_copies_tune_too(self):
        src = os.path.join(self.tmp, "src")
        os.makedirs(src)
        for i in range(120):
            with open(os.path.join(src, f"f{i:03d}"), "wb") as f:
                f.write(bytes([i]) * (8 * KiB))
        self.proxy.latency = 0.05
        p, s = self.run_riptide("sync", src, f"s3://{self.bucket}/up", "--concurrency", "auto")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 120)
        self.assertTrue(s["concurrency_auto"])
        self.assertGreaterEqual(s["concurrency_peak"], 8)
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/up", f"s3://{self.bucket}/copy",
                                "--concurrency", "auto")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 120)
        self.assertTrue(s["concurrency_auto"])
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="copy/")
        self.assertEqual(listed["KeyCount"], 120)


class PartsPerObjectTest(FaultTestCase):
    """How many of the requests in flight one object may run."""

    def sync_one(self, key):
        self.proxy.latency = 0.2  # the parts overlap: the most in flight at once is seen
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/w", self.dataset, "--part-size", "1M",
                                "--concurrency", "16", "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 1, s)
        return self.proxy.peak

    def test_an_object_proved_by_its_md5_leaves_room_for_others(self):
        # Its MD5 is one stream, and the lanes hash many streams at once only when many
        # objects land at once: it runs a lane width-th of the limit (at least 2), where
        # the CPU has lanes, instead of a request per part.
        self.server.client(checksums=False).put_object(Bucket=self.bucket, Key="w/etag-only.bin", Body=os.urandom(16 * MiB))
        width = md5_lanes_width()
        self.assertEqual(self.sync_one("w/etag-only.bin"), max(2, 16 // width) if width else 16)

    def test_huge_objects_in_view_land_side_by_side(self):
        # From 256 MiB up an object alone in view goes a request a part, but two share the
        # limit: both land at once and their MD5s run in lanes. At 16 in flight, 16 parts
        # each, the second would otherwise wait for every part of the first.
        width = md5_lanes_width()
        if not width:
            self.skipTest("no MD5 lanes on this CPU: objects keep a request a part")
        body = os.urandom(256 * MiB)
        client = self.server.client(checksums=False)
        for key in ("w/huge-a.bin", "w/huge-b.bin"):
            client.put_object(Bucket=self.bucket, Key=key, Body=body)
        self.proxy.latency = 0.3
        p, s = self.run_riptide("sync", f"s3://{self.bucket}/w", self.dataset, "--part-size", "16M",
                                "--concurrency", "16", "--list-concurrency", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["transferred"], 2, s)
        a, b = ([e.time for e in self.requests(k)] for k in ("huge-a.bin", "huge-b.bin"))
        self.assertEqual((len(a), len(b)), (16, 16))
        first, second = (a, b) if min(a) <= min(b) else (b, a)
        self.assertLess(min(second), max(first), "the second object's first part waited for all of the first's")
        self.assertEqual(self.proxy.peak, 16)
        with open(os.path.join(self.dataset, "huge-b.bin"), "rb") as f:
            self.assertEqual(f.read(), body)

    @unittest.skipIf(SERVER == "s3rver", "s3rver keeps no checksums: its objects are all proved by their MD5")
    def test_an_object_with_a_checksum_listed_runs_a_request_per_part(self):
        self.put({"w/crc32.bin": os.urandom(16 * MiB)})  # boto3 adds a CRC32, and the listing names it
        self.assertEqual(self.sync_one("w/crc32.bin"), 16)


class ServiceConcurrencyTest(ServeTestCase):
    def test_a_service_job_shows_its_number_in_flight_while_it_runs(self):
        self.put(objects("data/far", 200))
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.latency = 0.1
        svc = self.start(self.config(extra_job="    concurrency: auto\n", endpoint=proxy.endpoint))
        status, job = svc.get("/jobs/datasets")
        run_id = job["running_run"] or job["queued_run"]
        self.assertTrue(run_id, job)
        seen, live = 0, {}
        deadline = time.time() + 60
        while time.time() < deadline and not seen:
            text = svc.get("/metrics")[1]
            m = re.search(r'^riptide_job_concurrency\{job="datasets"\} (\d+)$', text, re.M)
            self.assertTrue(m, text)
            seen = int(m.group(1))
            live = svc.get(f"/runs/{run_id}")[1]
            time.sleep(0.2)
        self.assertGreaterEqual(seen, 2)  # at least the floor while running
        self.assertIn("concurrency", live)
        run = svc.wait_run(run_id)
        self.assertEqual((run["state"], run["transferred"]), ("ok", 203), run)
        self.assertIn('riptide_job_concurrency{job="datasets"} 0', svc.get("/metrics")[1])  # idle again
        self.assertEqual(svc.stop(), 0)


class ConcurrencyFlagTest(ServerTestCase):
    def test_a_bad_value_is_one_clear_error(self):
        for bad in ("0", "fast", "5000", ""):
            p = riptide("sync", f"s3://{self.bucket}/x", self.dataset, "--endpoint", self.server.endpoint,
                        "--concurrency", bad, server=self.server)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--concurrency", p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertFalse(os.path.exists(self.dataset))

    def test_a_fixed_number_is_reported_as_it_is_and_auto_is_the_default(self):
        self.put(objects("fixed", 3))
        p, s = self.sync("/fixed", "--concurrency", "5")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(s["concurrency"], 5)
        self.assertNotIn("concurrency_peak", s)
        # Without the flag, the number is found while running.
        p, s = self.sync("/fixed", dataset=os.path.join(self.tmp, "default"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(s["concurrency_auto"], s)


@unittest.skipUnless(STRACE, "strace is not installed (scripts/setup.sh --test-tools installs it) or may not "
                             "trace on this machine (no CAP_SYS_PTRACE)")
class WaitingTest(ServerTestCase):
    """With many transfers in flight, riptide waits in epoll and hears only of the sockets
    that are ready. A wait on every transfer's socket (curl_multi_poll, and the poll of each
    transfer that curl_multi_perform makes) costs work per transfer in flight for each
    response that arrives."""

    def traced_sync(self, n, concurrency, syscalls):
        self.put(objects("wait", n))
        calls = traced_riptide(self, syscalls, ["sync", f"s3://{self.bucket}/wait", self.dataset,
                                                "--concurrency", str(concurrency)], strings=32)
        self.assertEqual(len(tree(self.dataset)), n)
        return calls

    def test_no_wait_watches_every_transfer_in_flight(self):
        calls = self.traced_sync(96, 32, ["poll", "ppoll", "epoll_wait", "epoll_pwait"])
        waits = [c for c in calls if c.name.startswith("epoll_")]
        self.assertTrue(waits, "riptide never waited in epoll")
        # And it waits rather than spins: a wake-up for a response, a timer or new work,
        # not one loop after another with nothing due (97 requests here).
        self.assertLess(len(waits), 20 * 97, "riptide went round its epoll loop with nothing to wait for")
        # curl still checks a socket or two on its own (is a kept connection alive, is more
        # data pending); a wait on the transfers in flight would watch up to 32.
        watched = [int(m.group(1)) for c in calls if c.name in ("poll", "ppoll")
                   for m in [re.search(r"\}\],\s*(\d+),", c.args)] if m]
        self.assertLessEqual(max(watched, default=0), 3, f"a poll watched {max(watched)} descriptors")

    def test_a_body_is_read_in_pieces_larger_than_curls_default(self):
        # libcurl reads at most 16 KiB a call unless told otherwise: a 5.6 GiB mirror then
        # costs 360,000 reads and as many polls. riptide gives each transfer 128 KiB.
        self.put({"big/one.bin": os.urandom(8 * MiB)})
        calls = traced_riptide(self, ["recvfrom"], ["sync", f"s3://{self.bucket}/big", self.dataset], strings=0)
        reads = [c for c in calls if c.name == "recvfrom" and c.path.startswith("socket:")]
        got = [int(m.group(1)) for c in reads for m in [re.search(r"= (\d+)$", c.args)] if m]
        self.assertGreater(max(got, default=0), 16 * KiB, "no read of a body took more than 16 KiB")
        self.assertLess(len(reads), 8 * MiB // (32 * KiB), f"{len(reads)} reads for 8 MiB")

    def test_the_run_does_not_spin_in_the_graph_while_objects_come_in(self):
        # A thread waiting in oneTBB's graph spins (sched_yield, up to a hundred times) each
        # time the graph runs out of work: after nearly every object while they trickle in
        # at 4 in flight. riptide's main thread waits for the feeder instead and joins the
        # graph's wait only for what is left after it: the last few objects, not all of them.
        # How many spins that saves depends on how busy the machine is (a yield with nothing
        # else to run returns at once); which objects land after the first spin does not.
        n = 300
        calls = self.traced_sync(n, 4, ["sched_yield", "renameat"])
        main = calls[0].tid  # the execve
        spins = [c.start for c in calls if c.name == "sched_yield" and c.tid == main]
        landed_after = sum(1 for c in calls if c.name == "renameat" and spins and c.end > spins[0])
        self.assertLessEqual(landed_after, n // 10,
                             f"{landed_after} of {n} objects landed after the main thread first spun in the graph")
        self.assertLess(len(spins), 5 * n, f"the main thread yielded {len(spins)} times for {n} objects")
        # And the arena has a thread a core: every extra worker spins too, while nothing in
        # the graph blocks for long enough to need one.
        # A spinner yields thousands of times (5,000-7,600 each with two workers too many);
        # a few dozen are a lock's back-off (ASan's allocator on a loaded machine: 32), not a
        # thread waiting for work.
        yields = collections.Counter(c.tid for c in calls if c.name == "sched_yield")
        spinners = [tid for tid, n in yields.items() if n > 200]
        self.assertLessEqual(len(spinners), max(2, os.cpu_count() or 1),
                             f"{len(spinners)} threads spun in the graph on {os.cpu_count()} cores "
                             f"(yields by thread, the main one {main}: {dict(yields)})")


if __name__ == "__main__":
    import unittest
    unittest.main()
