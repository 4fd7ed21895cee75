#!/usr/bin/env python3
"""How closely --bwlimit holds: a download from s3rver at a fixed limit, sampled.

    perf/bwlimit_bench.py [--rate 4M] [--seconds 30]

Seeds s3rver with objects enough for --seconds at --rate, mirrors them with
`riptide sync --bwlimit RATE`, samples the bytes riptide has written (/proc/PID/io
wchar) every 100 ms, and prints the average rate over the run and the highest rate over
any 1-second window, against the targets: average within ±5 % of the limit, no second
above 2 × the limit.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench import BUCKET, KEY, RIPTIDE, SECRET, Bench  # noqa: E402


def parse_rate(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def written(pid):
    with open(f"/proc/{pid}/io") as f:
        return int(next(line for line in f if line.startswith("wchar")).split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", default="4M")
    ap.add_argument("--seconds", type=int, default=30)
    args = ap.parse_args()
    rate = parse_rate(args.rate)
    work = tempfile.mkdtemp(prefix="riptide-bwlimit-bench-")
    bench = Bench(work, "mixed", 0.01)  # replaced below: objects sized for the run
    size = 8 << 20
    bench.objects = [(f"bw/obj-{i:03d}.bin", size) for i in range(max(2, rate * args.seconds // size))]
    bench.prefix = "bw"
    bench.total = sum(s for _, s in bench.objects)
    bench.start()
    try:
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
        proc = subprocess.Popen([RIPTIDE, "sync", f"s3://{BUCKET}/bw", os.path.join(work, "dest"), "--endpoint",
                                 bench.endpoint, "--bwlimit", args.rate, "--no-progress"], env=env,
                                stdout=subprocess.DEVNULL)
        samples = []
        t0 = time.monotonic()
        while proc.poll() is None:
            try:
                samples.append((time.monotonic() - t0, written(proc.pid)))
            except (OSError, StopIteration):
                pass
            time.sleep(0.1)
        if proc.returncode != 0:
            raise SystemExit(f"riptide exited with {proc.returncode}")
        seconds = time.monotonic() - t0
        average = bench.total / seconds
        peak = 0
        for i, (t, b) in enumerate(samples):
            for t2, b2 in samples[i:]:
                if t2 - t >= 1.0:
                    peak = max(peak, (b2 - b) / (t2 - t))
                    break
        print(f"--bwlimit {args.rate}: {bench.total / 2**20:.0f} MiB in {seconds:.1f} s")
        print(f"  average {average / 2**20:.2f} MiB/s = {average / rate:.3f} × the limit (target 0.95–1.05)")
        print(f"  highest 1 s window {peak / 2**20:.2f} MiB/s = {peak / rate:.2f} × the limit (target ≤ 2)")
        ok = 0.95 <= average / rate <= 1.05 and peak <= 2 * rate
        print("  verdict: " + ("within the targets" if ok else "OUTSIDE THE TARGETS"))
        return 0 if ok else 1
    finally:
        bench.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
