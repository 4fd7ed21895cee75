"""`riptide serve` when runs are slow or throttled, through the fault proxy in front of
moto: triggers that coalesce during a run, cancel and SIGTERM mid-run, one shared limit
of requests in flight, SlowDowns counted."""
import os
import re
import signal
import time
import unittest

from fault_proxy import FaultProxy, Rule
from support import riptide, tree, wait_until
from serve_support import HOSTILE_KEY, ServeTestCase


class ListenerTest(ServeTestCase):
    def test_a_port_another_service_holds_is_refused(self):
        """cpp-httplib's default SO_REUSEPORT would let a second service share the port and
        take half of the first one's triggers."""
        svc = self.start(self.config())
        other = self.config().replace(self.state, os.path.join(self.tmp, "other-state"))
        with open(os.path.join(self.tmp, "other.yaml"), "w") as f:
            f.write(other)
        p = riptide("serve", "--config", f.name, "--listen", f"127.0.0.1:{svc.port}", server=self.server, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"cannot listen on 127.0.0.1:{svc.port}", p.stderr)
        self.assertEqual(svc.get("/healthz")[0], 200)
        self.assertEqual(svc.stop(), 0)


class SlowRunTest(ServeTestCase):
    def slow_proxy(self, seconds=0.5):
        proxy = FaultProxy(self.server.port)
        proxy.add(Rule(lambda m, path, h: m == "GET" and "/data/" in path, "delay", times=10**9, seconds=seconds))
        self.addCleanup(proxy.stop)
        return proxy

    def test_triggers_during_a_run_coalesce_into_one_follow_up(self):
        proxy = self.slow_proxy()
        svc = self.start(self.config(endpoint=proxy.endpoint))
        status, job = svc.get("/jobs/datasets")
        running = job["running_run"] or job["queued_run"]
        answers = [svc.post("/jobs/datasets/run")[1] for _ in range(5)]
        ids = {a["run_id"] for a in answers}
        self.assertEqual(len(ids), 1, answers)  # one follow-up for all five
        [follow_up] = ids
        self.assertNotEqual(follow_up, running)
        self.assertEqual([a["coalesced"] for a in answers], [False, True, True, True, True])
        first = svc.wait_run(running)
        second = svc.wait_run(follow_up)
        self.assertEqual((first["state"], second["state"]), ("ok", "ok"))
        self.assertEqual(second["triggers"], 5)
        self.assertGreaterEqual(second["started_at"], first["ended_at"])  # never overlapping
        self.assertEqual(svc.stop(), 0)

    def test_jobs_share_one_limit_of_requests_in_flight(self):
        proxy = self.slow_proxy(0.3)
        second = (f"  - name: second\n    source: s3://{self.bucket}/data\n"
                  f"    destination: {self.dataset}-2\n    endpoint: {proxy.endpoint}\n")
        svc = self.start(self.config(second, extra_top="concurrency: 1\n", endpoint=proxy.endpoint))
        peak, both_running = 0, False
        deadline = time.time() + 60
        while time.time() < deadline:
            metrics = svc.get("/metrics")[1]
            peak = max(peak, int(re.search(r"^riptide_requests_in_flight (\d+)$", metrics, re.M).group(1)))
            running = re.findall(r'^riptide_job_running\{job="(\w+)"\} 1$', metrics, re.M)
            both_running = both_running or len(running) == 2
            states = [j["state"] for j in svc.get("/jobs")[1]["jobs"]]
            if all(s == "idle" for s in states) and all(j["last_run"] for j in svc.get("/jobs")[1]["jobs"]):
                break
            time.sleep(0.05)
        self.assertTrue(both_running, "the two jobs never ran at the same time")
        self.assertEqual(peak, 1)
        self.assertIn("riptide_concurrency_limit 1\n", svc.get("/metrics")[1])
        for job in svc.get("/jobs")[1]["jobs"]:
            self.assertEqual((job["last_run"]["state"], job["last_run"]["transferred"]), ("ok", 3), job)
        self.assertEqual(svc.stop(), 0)

    def test_slowdowns_are_counted_per_run_and_in_metrics(self):
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.add(Rule(lambda m, path, h: m == "GET" and "/data/" in path, "status", times=3, status=503,
                       code="SlowDown"))
        svc = self.start(self.config(endpoint=proxy.endpoint))
        run = self.first_run(svc)
        self.assertEqual((run["state"], run["transferred"]), ("ok", 3))
        self.assertEqual(run["throttled"], 3)
        self.assertGreaterEqual(run["retries"], 3)
        self.assertIn('riptide_slowdowns_total{job="datasets"} 3\n', svc.get("/metrics")[1])
        self.assertEqual(svc.get("/events/stats")[1]["jobs"]["datasets"]["slowdowns"], 3)
        self.assertEqual(svc.stop(), 0)

    def test_cancel_a_running_run(self):
        proxy = self.slow_proxy(2)
        svc = self.start(self.config(endpoint=proxy.endpoint))
        run_id = svc.get("/jobs/datasets")[1]["running_run"]
        deadline = time.time() + 10
        while not run_id and time.time() < deadline:
            time.sleep(0.05)
            run_id = svc.get("/jobs/datasets")[1]["running_run"]
        status, body = svc.post(f"/runs/{run_id}/cancel")
        self.assertEqual(status, 202, body)
        run = svc.wait_run(run_id, timeout=30)
        self.assertEqual(run["state"], "cancelled")
        self.assertEqual(svc.stop(), 0)

    def test_sigterm_mid_run_records_it_and_the_next_start_resumes(self):
        proxy = self.slow_proxy(3)
        svc = self.start(self.config(endpoint=proxy.endpoint))
        wait_until(lambda: proxy.requests_for("/data/"), "the startup run's first GET at the proxy", 20)
        run_id = svc.get("/jobs/datasets")[1]["running_run"]
        self.assertTrue(run_id)
        started = time.time()
        self.assertEqual(svc.stop(signal.SIGTERM), 0)
        self.assertLess(time.time() - started, 20)
        self.assertIn("cancelling 1 running", svc.output())
        proxy.clear()  # the network is fast again
        again = self.start(self.config(endpoint=proxy.endpoint))
        status, old = again.get(f"/runs/{run_id}")
        self.assertEqual((status, old["state"]), (200, "interrupted"))
        status, job = again.get("/jobs/datasets")
        resumed = again.wait_run(job["running_run"] or job["queued_run"] or job["last_run"]["id"])
        self.assertNotEqual(resumed["id"], run_id)
        self.assertEqual((resumed["trigger"], resumed["state"]), ("startup", "ok"))
        self.assertEqual(sorted(tree(self.dataset)), sorted(["a.txt", "b/c.bin", HOSTILE_KEY[5:]]))
        self.assertEqual(again.stop(), 0)



if __name__ == "__main__":
    unittest.main()
