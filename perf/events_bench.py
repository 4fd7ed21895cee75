#!/usr/bin/env python3
"""Object events under load: N S3 notifications POSTed to `riptide serve` at once.

    perf/events_bench.py [--events 10000] [--clients 32]

Seeds s3rver with N small objects, starts the service with one `on_event` job (into a
directory), then POSTs one S3 `Records[]` notification per object from `--clients`
threads. Prints events accepted per second and the accept latency (p50, p99, max),
events completed per second (until none is pending), how many runs served them, whether
every object was transferred exactly once (the runs' transfers add up to N, no failure,
every file in place), and the service's RSS and CPU seconds. Figures are comparable only
within one run.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from bench import BUCKET, KEY, SECRET, seed_store  # noqa: E402
from processes import start_s3rver, start_serve  # noqa: E402
from serve_bench import proc_figures, request, stop_all  # noqa: E402


def notification(key):
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1024,
                                                       "sequencer": key.encode().hex()}}}]}).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="riptide-events-bench-")
    keys = [f"incoming/{i // 1000:02d}/obj-{i:05d}.bin" for i in range(args.events)]
    seed_store(os.path.join(work, "store"), [(k, 1024) for k in keys])
    server, service = None, None
    try:
        server, endpoint = start_s3rver(os.path.join(work, "store"), os.path.join(work, "s3rver.log"))
        config = os.path.join(work, "serve.yaml")
        with open(config, "w") as f:
            f.write(f"state_dir: {work}/state\njobs:\n  - name: incoming\n    source: s3://{BUCKET}/incoming/\n"
                    f"    destination: {work}/data\n    endpoint: {endpoint}\n    path_style: true\n"
                    f"    on_event: true\n")
        service, base = start_serve(config, os.path.join(work, "serve.log"),
                                    dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET))
        request("GET", base + "/healthz")
        idle_rss, _, cpu0 = proc_figures(service.pid)

        def post(key):
            start = time.perf_counter()
            answer = request("POST", base + "/events", notification(key))
            return answer["accepted"], time.perf_counter() - start

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            answers = list(pool.map(post, keys))
        accept_s = time.time() - t0
        while True:
            stats = request("GET", base + "/events/stats")["object_events"]
            jobs = request("GET", base + "/jobs")["jobs"]
            if stats["pending"] == 0 and all(j["state"] == "idle" for j in jobs):
                break
            time.sleep(0.1)
        done_s = time.time() - t0
        rss, peak, cpu = proc_figures(service.pid)
        runs = [r for r in request("GET", base + "/jobs/incoming")["recent_runs"]]
        history = request("GET", base + "/events/stats")
        transferred = history["jobs"]["incoming"]["objects_transferred"] if "jobs" in history else None
        files = sum(len(fs) for d, _, fs in os.walk(os.path.join(work, "data")) if "/.riptide" not in d)
        latencies = sorted(a[1] for a in answers)

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        print(f"events: {args.events} S3 notifications from {args.clients} clients, one on_event job into a directory")
        print(f"  accepted: {sum(a[0] for a in answers)} in {accept_s:.2f} s ({args.events / accept_s:.0f} events/s); "
              f"latency p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        print(f"  completed: all in {done_s:.2f} s ({args.events / done_s:.0f} events/s) by "
              f"{len([r for r in runs if r['trigger'] == 'event'])} event runs (of the newest 10 shown)")
        print(f"  succeeded {stats['succeeded']}, failed {stats['failed']}, duplicate {stats['duplicate']}; "
              f"objects transferred by the runs {transferred}; files in place {files}")
        print(f"  RSS: idle {idle_rss:.0f} MiB, after {rss:.0f} MiB, peak {peak:.0f} MiB; CPU {cpu - cpu0:.2f} s")
        ok = stats["succeeded"] == args.events and stats["failed"] == 0 and files == args.events and \
            (transferred is None or transferred == args.events)
        print("  verdict: " + ("every object transferred exactly once" if ok else "MISSING OR DOUBLED"))
        return 0 if ok else 1
    finally:
        stop_all([service, server], work)


if __name__ == "__main__":
    sys.exit(main())
