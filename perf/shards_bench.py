#!/usr/bin/env python3
"""Shards against one process: a workload mirrored by one `riptide sync`, then by an
array of N shards on a one-node Slurm cluster started here (slurm-wlm, munge; root).

    perf/shards_bench.py [small|mixed] [--scale 0.25] [--shards 4]

Prints the wall time of each (the Slurm row includes writing the shard plan and the
scheduler's passes), the requests sent, and checks that the shards' union equals the
bucket, byte for byte against the single process's copy. On one 2-core machine shards
share the same CPU and server: this measures their overhead, not a cluster's speed-up.
"""
import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from bench import BUCKET, KEY, RIPTIDE, ROOT, SECRET, Bench  # noqa: E402
from slurm_cluster import SlurmCluster, missing_tools  # noqa: E402

SCRIPT = os.path.join(ROOT, "deploy", "slurm", "riptide-array.sbatch")


def same_trees(a, b):
    cmp = filecmp.dircmp(a, b, ignore=[".riptide"])
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return False
        stack.extend(c.subdirs.values())
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", nargs="?", default="small", choices=["small", "mixed"])
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--shards", type=int, default=4)
    args = ap.parse_args()
    if missing_tools():
        raise SystemExit(f"Slurm is missing ({', '.join(missing_tools())}): scripts/setup.sh --test-tools")
    work = tempfile.mkdtemp(prefix="riptide-shards-bench-")
    bench = Bench(work, args.workload, args.scale)
    bench.start()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    src = f"s3://{BUCKET}/{bench.prefix}"
    cluster = None
    try:
        one = os.path.join(work, "one")
        t0 = time.time()
        subprocess.run([RIPTIDE, "sync", src, one, "--endpoint", bench.endpoint, "--no-progress"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        one_s = time.time() - t0
        cluster = SlurmCluster(os.path.join(work, "slurm"))
        sharded, plan = os.path.join(work, "sharded"), os.path.join(work, "shards.json")
        t0 = time.time()
        subprocess.run([RIPTIDE, "shard", "plan", src, "--shards", str(args.shards), "--out", plan,
                        "--endpoint", bench.endpoint], env=env, check=True, stdout=subprocess.DEVNULL)
        plan_s = time.time() - t0
        code, _, err = cluster.sbatch(SCRIPT, f"0-{args.shards - 1}", dict(
            env, SRC=src, DEST=sharded, PLAN=plan, RIPTIDE=RIPTIDE, RIPTIDE_ARGS=f"--endpoint {bench.endpoint}"),
            timeout=3600)
        shards_s = time.time() - t0
        if code != 0:
            raise SystemExit(f"the array failed: {err}{cluster.task_logs()}")
        union = same_trees(one, sharded)
        mib = bench.total / 2**20
        print(f"{args.workload} ×{args.scale}: {len(bench.objects)} objects, {mib:.0f} MiB, s3rver on 127.0.0.1")
        print(f"  one process:          {one_s:6.1f} s  {mib / one_s:7.1f} MB/s")
        print(f"  {args.shards} shards on Slurm:    {shards_s:6.1f} s  {mib / shards_s:7.1f} MB/s "
              f"(plan {plan_s:.1f} s, then the array)")
        print("  union: " + ("equal to the one-process mirror, byte for byte" if union else "DIFFERS"))
        return 0 if union else 1
    finally:
        if cluster:
            cluster.stop()
        bench.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
