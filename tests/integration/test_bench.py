"""`riptide bench` against a real S3 server: a grid of timed cells over a sample of the
bucket (bodies dropped, or written to a folder and synced), the recommendation and the
command line that applies it, results as JSON, CSV and an SVG a browser shows; uploads
into a scratch prefix removed afterwards, even after SIGINT; a cell that meets SlowDowns
stops early and is never recommended; bad input is one line and exit 2."""
import csv
import json
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

from fault_proxy import FaultProxy
from support import BIN, SERVER, ServerTestCase, riptide, run_on_terminal

KiB, MiB = 1 << 10, 1 << 20


class BenchTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        objects = {f"set/small/{i:03d}.bin": os.urandom(10 * KiB + i) for i in range(40)}
        objects.update({f"set/medium/{i}.bin": os.urandom(3 * MiB + i) for i in range(3)})
        self.put(objects)

    def bench(self, *args, endpoint=None, timeout=300):
        p = riptide("bench", f"s3://{self.bucket}/set", "--endpoint", endpoint or self.server.endpoint, *args,
                    server=self.server, timeout=timeout)
        doc = json.loads(p.stdout.strip().splitlines()[-1]) if "--json" in args and p.stdout.strip() else None
        return p, doc

    def scratch_left(self, prefix):
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        uploads = [] if SERVER == "s3rver" else (  # it cannot list them
            self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", []))
        return [o["Key"] for o in listed], [u["Key"] for u in uploads]

    def test_a_download_grid_with_its_recommendation_and_charts(self):
        out = os.path.join(self.tmp, "results")
        p, doc = self.bench("--concurrency", "2,8", "--part-size", "1M,2M", "--duration", "5s", "--sample", "20",
                            "--json", "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        cells = doc["cells"]
        # Small objects go whole (one line), medium ones in each part size: 2 + 2 × 2 cells.
        self.assertEqual(sorted((c["class"], c["concurrency"], c.get("part_size")) for c in cells),
                         [("medium", 2, MiB), ("medium", 2, 2 * MiB), ("medium", 8, MiB), ("medium", 8, 2 * MiB),
                          ("small", 2, None), ("small", 8, None)])
        for c in cells:
            self.assertEqual(c["stopped"], "", c)
            self.assertEqual(c["direction"], "download")
            self.assertGreater(c["objects"], 0, c)
            self.assertGreater(c["bytes"], 0, c)
            self.assertGreater(c["ttfb_p50_ms"], 0, c)
            self.assertLessEqual(c["ttfb_p50_ms"], c["ttfb_p99_ms"])
            self.assertGreater(c["cpu_seconds"], 0, c)
        medium = [c for c in cells if c["class"] == "medium" and c["objects"] == 3]
        for c in medium:  # the whole sample: every byte of it, each part once
            self.assertEqual(c["bytes"], 3 * 3 * MiB + 3, c)
            parts = sum(-(-(3 * MiB + i) // c["part_size"]) for i in range(3))
            self.assertEqual(c["requests"], parts, c)
        self.assertEqual(doc["sample"]["small"]["objects"], 20)  # --sample of 40
        self.assertEqual(doc["sample"]["medium"]["objects"], 3)
        self.assertEqual(doc["listed"], 43)
        picks = {(r["class"], r["direction"]): r for r in doc["recommendation"]}
        self.assertEqual(set(picks), {("small", "download"), ("medium", "download")})
        best = picks[("medium", "download")]["best"]
        self.assertEqual(best["mb_per_s"], max(c["mb_per_s"] for c in cells if c["class"] == "medium"))
        self.assertIn("runner_up", picks[("medium", "download")])
        # Most of the listing's bytes are medium: its flags are the ones to apply.
        self.assertEqual(doc["sync_flags"],
                         f"--concurrency {best['concurrency']} --part-size {best['part_size'] >> 20}MiB")
        # Files: the same document, a CSV row per cell, an SVG chart with a line per part size.
        with open(os.path.join(out, "results.json")) as f:
            self.assertEqual(json.load(f)["cells"], cells)
        with open(os.path.join(out, "results.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 6)
        self.assertEqual({r["class"] for r in rows}, {"small", "medium"})
        svg = ET.parse(os.path.join(out, "chart.svg")).getroot()
        lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
        self.assertEqual(len(lines), 3)  # whole small objects, 1 MiB parts, 2 MiB parts
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket)["KeyCount"], 43)  # nothing written there

    def test_the_table_on_a_terminal_and_the_chart_in_a_browser(self):
        out = os.path.join(self.tmp, "results")
        p, _ = self.bench("--concurrency", "4", "--part-size", "2M", "--duration", "3s", "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sample of s3://", p.stdout)
        self.assertIn("recommended:", p.stdout)
        self.assertIn("downloads, medium objects: --concurrency 4 --part-size 2MiB (", p.stdout)
        self.assertIn(f"riptide sync s3://{self.bucket}/set DIR --concurrency 4 --part-size 2MiB", p.stdout)
        self.assertIn("concurrency: 4\n    part_size: 2MiB", p.stdout)
        chromium = shutil.which("chromium")
        if not chromium:
            self.fail("chromium is missing: scripts/setup.sh installs Debian's chromium package")
        profile = os.path.join(self.tmp, "chromium")
        q = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={profile}", "--dump-dom", "file://" + os.path.join(out, "chart.svg")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(q.returncode, 0, q.stderr[-2000:])
        self.assertIn("<polyline", q.stdout)
        self.assertIn("medium objects, downloads: MB/s", q.stdout)

    def test_a_progress_bar_per_cell_on_a_terminal(self):
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.latency = 0.1  # cells of a second or two: bars drawn ten times a second
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        code, out, bars = run_on_terminal([BIN, "bench", f"s3://{self.bucket}/set/small", "--endpoint", proxy.endpoint,
                                           "--concurrency", "2,4", "--duration", "2s"], env)
        self.assertEqual(code, 0, bars)
        for concurrency in (2, 4):
            drawn = [b for b in bars if f"small down c={concurrency} whole [" in b]
            self.assertTrue(drawn, bars)
            self.assertRegex(drawn[-1], r"\[[#.]{24}\] +\d+%  \d+ objects/s")
        self.assertIn(b"recommended:", out)

    def test_to_a_folder_includes_the_disk_and_leaves_nothing(self):
        into = os.path.join(self.tmp, "disk")
        os.makedirs(into)
        p, doc = self.bench("--concurrency", "4", "--part-size", "1M", "--duration", "5s", "--to", into, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(all(c["bytes"] > 0 and c["stopped"] == "" for c in doc["cells"]), doc["cells"])
        self.assertEqual(os.listdir(into), [])
        p, doc = self.bench("--concurrency", "4", "--part-size", "1M", "--duration", "2s", "--to", "/dev/null", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)  # the sink, as the default

    def test_uploads_go_to_a_scratch_prefix_and_are_removed(self):
        p, doc = self.bench("--concurrency", "2,6", "--part-size", "5M", "--duration", "5s", "--json",
                            "--upload", f"s3://{self.bucket}/scratch/")
        self.assertEqual(p.returncode, 0, p.stderr)
        ups = [c for c in doc["cells"] if c["direction"] == "upload"]
        self.assertEqual(len(ups), 4)  # small and medium at 2 and 6
        self.assertTrue(all(c["objects"] > 0 and c["errors"] == 0 for c in ups), ups)
        self.assertIn(("medium", "upload"), {(r["class"], r["direction"]) for r in doc["recommendation"]})
        self.assertEqual(self.scratch_left("scratch/"), ([], []))

    def test_an_interrupted_upload_sweep_still_removes_what_it_wrote(self):
        if SERVER == "s3rver":
            self.skipTest("s3rver has no AbortMultipartUpload: the uploads an interrupt leaves open cannot be removed")
        self.put({f"set/large/{i}.bin": b"L" * (64 * MiB + i) for i in range(2)})
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.latency = 0.05
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.access_key, AWS_SECRET_ACCESS_KEY=self.server.secret_key)
        proc = subprocess.Popen([BIN, "bench", f"s3://{self.bucket}/set/large", "--endpoint", proxy.endpoint,
                                 "--concurrency", "4", "--part-size", "5M", "--duration", "60s",
                                 "--upload", f"s3://{self.bucket}/scratch"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and not any(e.method == "PUT" and "uploadId" in e.path and "scratch" in e.path
                                                  for e in list(proxy.log)):
            time.sleep(0.1)
        time.sleep(0.5)  # parts of open uploads are stored at the server now
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assertEqual(self.scratch_left("scratch/"), ([], []))
        # What it aborted was open: the server had parts of it.
        self.assertTrue([e for e in proxy.log if e.method == "DELETE" and "uploadId" in e.path], err)

    def test_a_cell_that_meets_slowdowns_stops_early_and_is_not_picked(self):
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        proxy.cap = 3
        proxy.latency = 0.05
        p, doc = self.bench("--concurrency", "2,16", "--part-size", "1M", "--duration", "10s", "--json",
                            endpoint=proxy.endpoint)
        self.assertEqual(p.returncode, 0, p.stderr)
        by = {(c["class"], c["concurrency"]): c for c in doc["cells"]}
        self.assertIn("SlowDown", by[("small", 16)]["stopped"])
        self.assertGreater(by[("small", 16)]["slowdowns"], 0)
        self.assertEqual(by[("small", 2)]["stopped"], "")
        picks = {(r["class"], r["direction"]): r for r in doc["recommendation"]}
        self.assertEqual(picks[("small", "download")]["best"]["concurrency"], 2)

    def test_bad_input_is_one_line_and_exit_2(self):
        for args, says in [(["--concurrency", "0"], "--concurrency"), (["--part-size", "1K"], "--part-size"),
                           (["--duration", "soon"], "--duration"), (["--to", "/no/such/dir"], "--to")]:
            p, _ = self.bench(*args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(says, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = riptide("bench", f"s3://{self.bucket}/nothing-here", "--endpoint", self.server.endpoint,
                    server=self.server)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("holds no objects", p.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
