"""`riptide serve` against a real S3 server: schedules, triggers that coalesce, initial
then incremental runs, history that survives a restart, auth, config errors, SIGTERM
mid-run, every endpoint's JSON, /metrics through promtool and the history page in
headless Chromium."""
import json
import os
import shutil
import subprocess
import time
import unittest

from serve_support import HOSTILE_KEY, ServeTestCase
from support import riptide, tree


class InitialThenIncrementalTest(ServeTestCase):
    def test_startup_run_then_trigger_then_restart_keeps_history(self):
        svc = self.start(self.config())
        first = self.first_run(svc)
        self.assertEqual((first["trigger"], first["kind"], first["state"]), ("startup", "initial", "ok"))
        self.assertEqual(first["transferred"], 3)
        self.assertEqual(sorted(tree(self.dataset)), sorted(["a.txt", "b/c.bin", HOSTILE_KEY[5:]]))

        self.put({"data/new.txt": b"new"})
        status, body = svc.post("/jobs/datasets/run")  # the CronJob's `curl -X POST --data '{}'`
        self.assertEqual(status, 202, body)
        self.assertEqual(body["job"], "datasets")
        run = svc.wait_run(body["run_id"])
        # Field by field: what a dashboard or a script reads.
        self.assertEqual(run["id"], body["run_id"])
        self.assertEqual(run["job"], "datasets")
        self.assertEqual(run["trigger"], "manual")
        self.assertEqual(run["kind"], "incremental")
        self.assertEqual(run["state"], "ok")
        self.assertEqual((run["listed"], run["transferred"], run["skipped"], run["failed"]), (4, 1, 3, 0))
        self.assertEqual(run["bytes"], 3)
        self.assertEqual(run["failures"], [])
        self.assertEqual(run["error"], "")
        self.assertTrue(run["received_at"] <= run["started_at"] <= run["ended_at"])
        self.assertTrue(run["received_at"].endswith("Z"))
        self.assertGreaterEqual(run["seconds"], 0)
        self.assertEqual(tree(self.dataset)["new.txt"], b"new")

        status, jobs = svc.get("/jobs")
        self.assertEqual(status, 200)
        [job] = jobs["jobs"]
        self.assertEqual((job["name"], job["state"], job["schedule"]), ("datasets", "idle", "on trigger"))
        self.assertEqual(job["source"], f"s3://{self.bucket}/data")
        self.assertEqual(job["destination"], self.dataset)
        self.assertEqual(job["last_run"]["id"], run["id"])
        self.assertEqual(job["next_run"], "")
        self.assertEqual(svc.get("/jobs/nope")[0], 404)
        self.assertEqual(svc.post("/jobs/nope/run")[0], 404)
        self.assertEqual(svc.get("/runs/999999")[0], 404)
        self.assertEqual(svc.post(f"/runs/{run['id']}/cancel")[0], 409)

        status, stats = svc.get("/events/stats")
        self.assertEqual(status, 200)
        self.assertEqual(stats["runs"], {"succeeded": 2, "failed": 0})
        self.assertEqual(stats["runs_by_trigger"]["startup"], {"succeeded": 1, "failed": 0})
        self.assertEqual(stats["runs_by_trigger"]["manual"], {"succeeded": 1, "failed": 0})
        self.assertEqual(stats["objects_transferred"], 4)
        self.assertEqual(stats["jobs"]["datasets"]["last_success"], run["ended_at"])

        self.assertEqual(svc.stop(), 0)
        self.assertIn("stopped", svc.output())
        # A restart keeps the history and, the job being synced, runs nothing at start.
        again = self.start(self.config())
        status, old = again.get(f"/runs/{run['id']}")
        self.assertEqual((status, old["state"], old["transferred"]), (200, "ok", 1))
        status, job = again.get("/jobs/datasets")
        self.assertEqual((job["state"], job["last_run"]["id"]), ("idle", run["id"]))
        self.assertEqual(len(job["recent_runs"]), 2)
        self.assertEqual(again.stop(), 0)


class RemoteTest(ServeTestCase):
    def test_a_job_names_an_rclone_remote_with_its_own_keys(self):
        conf = os.path.join(self.tmp, "rclone.conf")
        with open(conf, "w") as f:
            f.write(f"[source]\ntype = s3\nprovider = Other\naccess_key_id = {self.server.access_key}\n"
                    f"secret_access_key = {self.server.secret_key}\nendpoint = {self.server.endpoint}\n")
        text = (f"state_dir: {self.state}\nrclone_config: {conf}\njobs:\n"
                f"  - name: datasets\n    source: source:{self.bucket}/data\n    destination: {self.dataset}\n")
        svc = self.start(text, keys_in_env=False, env={"HOME": self.tmp})
        run = self.first_run(svc)
        self.assertEqual((run["state"], run["transferred"]), ("ok", 3), run)
        self.assertEqual(svc.get("/jobs/datasets")[1]["source"], f"source:{self.bucket}/data")
        pages = svc.get("/jobs")[1], svc.get(f"/runs/{run['id']}")[1], svc.get("/events/history")[1], \
            svc.get("/metrics")[1], svc.get("/readyz")[1]
        self.assertEqual(svc.stop(), 0)
        for text in [json.dumps(p) for p in pages] + [svc.output()]:
            self.assertNotIn(self.server.secret_key, text)


class ScheduleTest(ServeTestCase):
    def test_every_fires_on_its_own(self):
        svc = self.start(self.config("    every: 1s\n"))
        self.first_run(svc)
        deadline = time.time() + 30
        while time.time() < deadline:
            scheduled = svc.get("/events/stats")[1]["runs_by_trigger"].get("schedule", {})
            if scheduled.get("succeeded", 0) >= 2:
                break
            time.sleep(0.2)
        else:
            self.fail(f"fewer than 2 scheduled runs in 30 s: {svc.get('/events/stats')[1]}")
        job = svc.get("/jobs/datasets")[1]
        self.assertEqual(job["schedule"], "every 1s")
        self.assertNotEqual(job["next_run"], "")
        self.assertEqual(svc.stop(), 0)


class ConfigErrorsTest(ServeTestCase):
    def test_every_problem_with_its_line_and_nothing_starts(self):
        text = (f"listen: 127.0.0.1:80x\n"
                f"state_dir: {self.state}\n"
                f"bogus: 1\n"
                f"jobs:\n"
                f"  - name: one\n"
                f"    source: nosuchremote:bkt/data\n"
                f"    destination: {self.dataset}\n"
                f"    schedule: \"61 * * * *\"\n"
                f"  - name: two\n"
                f"    source: s3://{self.bucket}/${{RIPTIDE_TEST_UNSET_VAR}}\n"
                f"    destination: relative/dir\n"
                f"    every: 5q\n"
                f"    colour: red\n")
        path = os.path.join(self.tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        env = {"RIPTIDE_TEST_UNSET_VAR": ""}
        for extra in ([], ["--check"]):
            p = riptide("serve", "--config", path, *extra, env=env, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            for line, words in [(1, "listen must be HOST:PORT"), (3, "unknown key 'bogus'"),
                                (6, "no remote named 'nosuchremote'"), (8, "cron minute"),
                                (10, "${RIPTIDE_TEST_UNSET_VAR} is not set"), (11, "must be an absolute path"),
                                (12, "every:"), (13, "unknown key 'colour'")]:
                self.assertIn(f"bad.yaml:{line}: ", p.stderr)
                self.assertIn(words, p.stderr)
            self.assertIn("nothing started", p.stderr)
        self.assertFalse(os.path.exists(self.state))

        good = os.path.join(self.tmp, "good.yaml")
        with open(good, "w") as f:
            f.write(self.config("    schedule: \"*/15 * * * *\"\n"))
        p = riptide("serve", "--config", good, "--check", timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("datasets", p.stdout)
        self.assertIn("cron */15 * * * *", p.stdout)
        self.assertFalse(os.path.exists(self.state))  # --check writes nothing


class AuthTest(ServeTestCase):
    def test_token_guards_posts_and_optionally_reads(self):
        token = "s3cr3t-t0ken-value"
        svc = self.start(self.config(extra_top="auth_token: ${RIPTIDE_TEST_TOKEN}\nauth_reads: true\n"),
                         env={"RIPTIDE_TEST_TOKEN": token})
        self.assertEqual(svc.post("/jobs/datasets/run")[0], 401)
        self.assertEqual(svc.post("/jobs/datasets/run", token="wrong-token-value-x")[0], 401)
        self.assertEqual(svc.post("/jobs/datasets/run", token=token[:-1])[0], 401)
        self.assertEqual(svc.get("/jobs")[0], 401)
        self.assertEqual(svc.get("/events/history")[0], 401)
        self.assertEqual(svc.get("/healthz")[0], 200)  # probes need no token
        status, body = svc.post("/jobs/datasets/run", token=token)
        self.assertEqual(status, 202, body)
        self.assertEqual(svc.wait_run(body["run_id"], token=token)["state"], "ok")
        self.assertEqual(svc.get("/jobs", token=token)[0], 200)
        self.assertEqual(svc.stop(), 0)
        self.assertNotIn(token, svc.output())
        self.assertNotIn(self.server.secret_key, svc.output())

    def test_beyond_loopback_without_a_token_refuses_posts(self):
        svc = self.start(self.config(), listen="0.0.0.0")
        status, body = svc.post("/jobs/datasets/run")
        self.assertEqual(status, 403)
        self.assertIn("auth_token", body["error"])
        self.assertEqual(svc.get("/jobs")[0], 200)
        self.assertEqual(svc.stop(), 0)

    def test_oversized_bodies_are_refused(self):
        svc = self.start(self.config())
        self.assertEqual(svc.post("/jobs/datasets/run", body="x" * (1 << 20))[0], 413)
        self.assertEqual(svc.stop(), 0)

    def test_a_slow_client_loses_its_connection_and_a_burst_finds_room(self):
        import socket
        svc = self.start(self.config())
        # Half a request, then nothing: the server hangs up after its 5 s read timeout.
        with socket.create_connection(("127.0.0.1", svc.port), timeout=20) as s:
            s.sendall(b"POST /jobs/datasets/run HTTP/1.1\r\nHost: x\r\n")
            started = time.time()
            answer = s.recv(4096)
            self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer)
            while answer:
                answer = s.recv(4096)  # and the connection is closed
            self.assertLess(time.time() - started, 15)
        # The listen backlog holds a burst of connections (Debian's cpp-httplib asks for 5).
        ss = shutil.which("ss")
        if not ss:
            self.fail("ss is missing: scripts/setup.sh installs Debian's iproute2")
        with open("/proc/sys/net/core/somaxconn") as f:
            expected = min(1024, int(f.read()))
        out = subprocess.run([ss, "-ltnH", f"sport = :{svc.port}"], capture_output=True, text=True).stdout.split()
        self.assertEqual(int(out[2]), expected, out)  # Send-Q of a listening socket: its backlog
        self.assertEqual(svc.stop(), 0)


class PagesTest(ServeTestCase):
    def test_metrics_pass_promtool(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool is missing: scripts/setup.sh installs Debian's prometheus package")
        svc = self.start(self.config())
        self.first_run(svc)
        status, text = svc.get("/metrics")
        self.assertEqual(status, 200)
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('riptide_runs_total{job="datasets",result="ok"} 1', text)
        self.assertIn('riptide_objects_transferred_total{job="datasets"} 3', text)
        self.assertIn('riptide_run_duration_seconds_count{job="datasets"} 1', text)
        self.assertIn('riptide_job_running{job="datasets"} 0', text)
        self.assertRegex(text, r'riptide_last_success_timestamp_seconds\{job="datasets"\} 1\d{9}')
        self.assertEqual(svc.stop(), 0)

    def test_readyz_names_what_cannot_be_reached(self):
        svc = self.start(self.config())
        status, body = svc.get("/readyz")
        self.assertEqual(status, 200, body)
        self.assertEqual({c["name"]: c["ok"] for c in body["components"]},
                         {"state": True, "datasets source": True, "datasets destination": True})
        self.assertEqual(svc.stop(), 0)
        missing = self.start(self.config(bucket="no-such-bucket-here"))
        status, body = missing.get("/readyz")
        self.assertEqual(status, 503, body)
        [source] = [c for c in body["components"] if c["name"] == "datasets source"]
        self.assertFalse(source["ok"])
        self.assertIn("NoSuchBucket", source["detail"])
        self.assertEqual(missing.stop(), 0)

    def test_history_page_in_headless_chromium(self):
        chromium = shutil.which("chromium")
        if not chromium:
            self.fail("chromium is missing: scripts/setup.sh installs Debian's chromium package")
        svc = self.start(self.config())
        self.first_run(svc)
        self.put({"data/new.txt": b"new"})
        svc.wait_run(svc.post("/jobs/datasets/run")[1]["run_id"])
        profile = os.path.join(self.tmp, "chromium")
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={profile}"]
        p = subprocess.run(base + ["--dump-dom", svc.url + "/events/history"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout
        self.assertEqual(dom.count('class="run"'), 2)
        self.assertLess(dom.index('id="run-2"'), dom.index('id="run-1"'))  # newest first
        self.assertIn("startup", dom)
        self.assertIn("manual", dom)
        self.assertIn("data/new.txt", dom)
        # The hostile key is text, never an element.
        self.assertIn("data/&lt;img src=x onerror=alert(1)&gt;.txt", dom)
        self.assertNotIn("<img", dom)
        shot = os.path.join(self.tmp, "history.png")
        p = subprocess.run(base + [f"--screenshot={shot}", "--window-size=1200,800", svc.url + "/events/history"],
                           capture_output=True, text=True, timeout=120)
        self.assertTrue(os.path.exists(shot) and os.path.getsize(shot) > 5000, p.stderr[-2000:])
        p = subprocess.run(base + ["--dump-dom", svc.url + "/events/history/1"], capture_output=True, text=True,
                           timeout=120)
        self.assertIn("Run 1 of datasets", p.stdout)
        self.assertEqual(p.stdout.count("<li class=\"ok\">"), 3)
        self.assertEqual(svc.stop(), 0)


if __name__ == "__main__":
    unittest.main()
