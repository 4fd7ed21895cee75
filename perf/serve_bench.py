#!/usr/bin/env python3
"""The service under load: N jobs on one `riptide serve`, each triggered T times at once.

    perf/serve_bench.py [--jobs 100] [--triggers 10] [--objects 5]

Seeds s3rver with `--objects` small objects under one prefix per job, starts the service
(every job synced at start), waits until it is idle, then fires jobs × triggers POSTs
from 64 threads at once. Prints the trigger latency (p50, p99, max), how many runs
served them, whether any trigger was lost or any run doubled (every POST answered by a
run that ran once, and the runs' trigger counts add up to the POSTs), and the service's
RSS and CPU seconds at idle and under load. Figures are comparable only within one run.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from bench import BUCKET, KEY, SECRET, seed_store  # noqa: E402
from processes import start_s3rver, start_serve  # noqa: E402


def request(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def proc_figures(pid):
    """(RSS MiB, peak RSS MiB, CPU seconds) of a process."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024, cpu


def stop_all(processes, work):
    """Ends the service and the server a bench started, and removes its files."""
    for p in processes:
        if p:
            p.terminate()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)


def wait_idle(base, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = request("GET", base + "/jobs")["jobs"]
        if all(j["state"] == "idle" for j in jobs):
            return jobs
        time.sleep(0.2)
    raise SystemExit("the service did not become idle")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--triggers", type=int, default=10)
    ap.add_argument("--objects", type=int, default=5)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="riptide-serve-bench-")
    store = os.path.join(work, "store")
    objects = [(f"job-{j:03d}/obj-{i}.bin", 4096) for j in range(args.jobs) for i in range(args.objects)]
    seed_store(store, objects)
    server, service = None, None
    try:
        server, endpoint = start_s3rver(store, os.path.join(work, "s3rver.log"))
        config = os.path.join(work, "serve.yaml")
        with open(config, "w") as f:
            f.write(f"state_dir: {work}/state\nmax_parallel_jobs: 8\njobs:\n")
            for j in range(args.jobs):
                f.write(f"  - name: job-{j:03d}\n    source: s3://{BUCKET}/job-{j:03d}\n"
                        f"    destination: {work}/data/job-{j:03d}\n    endpoint: {endpoint}\n"
                        f"    path_style: true\n")
        senv = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
        service, base = start_serve(config, os.path.join(work, "serve.log"), senv)
        t0 = time.time()
        wait_idle(base)
        startup_s = time.time() - t0
        time.sleep(1)
        idle_rss, _, cpu0 = proc_figures(service.pid)
        time.sleep(5)
        _, _, cpu_idle = proc_figures(service.pid)
        idle_cpu_per_s = (cpu_idle - cpu0) / 5

        def trigger(job):
            start = time.perf_counter()
            answer = request("POST", f"{base}/jobs/{job}/run", b"{}")
            return job, answer["run_id"], time.perf_counter() - start

        names = [f"job-{j:03d}" for j in range(args.jobs)] * args.triggers
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            answers = list(pool.map(trigger, names))
        fire_s = time.time() - t0
        jobs = wait_idle(base)
        load_s = time.time() - t0
        rss, peak, cpu_end = proc_figures(service.pid)

        latencies = sorted(a[2] for a in answers)
        runs = {}
        for job, run_id, _ in answers:
            runs.setdefault(run_id, set()).add(job)
        doubled = [r for r, js in runs.items() if len(js) != 1]
        triggers_recorded, not_ok = 0, []
        for run_id in runs:
            run = request("GET", f"{base}/runs/{run_id}")
            triggers_recorded += run["triggers"]
            if run["state"] != "ok":
                not_ok.append((run_id, run["state"]))
        assert all(j["state"] == "idle" for j in jobs)

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        print(f"service: {args.jobs} jobs × {args.triggers} concurrent triggers ({len(answers)} POSTs, 64 clients), "
              f"{args.objects} objects a job")
        print(f"  startup: every job's initial sync in {startup_s:.1f} s")
        print(f"  triggers: answered in {fire_s:.2f} s; latency p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms")
        print(f"  runs: {len(runs)} served the {len(answers)} triggers (coalesced), all idle {load_s:.1f} s after "
              f"the first POST; runs with another job's triggers: {len(doubled)}; "
              f"triggers recorded {triggers_recorded} of {len(answers)}; runs not ok: {len(not_ok)}")
        print(f"  RSS: idle {idle_rss:.0f} MiB, after load {rss:.0f} MiB, peak {peak:.0f} MiB; "
              f"CPU: idle {idle_cpu_per_s * 100:.2f} % of a core, load {cpu_end - cpu_idle:.2f} CPU-s")
        ok = not doubled and triggers_recorded == len(answers) and not not_ok
        print("  verdict: " + ("no trigger lost, no run doubled" if ok else "LOST OR DOUBLED"))
        return 0 if ok else 1
    finally:
        stop_all([service, server], work)


if __name__ == "__main__":
    sys.exit(main())
