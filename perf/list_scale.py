#!/usr/bin/env python3
"""Listing, diff and manifest at 10 million keys, with no server (build/list_scale).

    perf/list_scale.py [--keys 10000000]

Builds a real SQLite manifest of KEYS objects (and one missing 1 % of them), then, in a
fresh process each, lists KEYS keys from a transport that generates ListObjectsV2 XML
and merge-joins them with the manifest. Prints seconds, CPU seconds per million keys
and peak RSS beside the target (≤ 150 MiB): memory must not grow with the bucket.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "list_scale")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=10_000_000)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit("build/list_scale is missing: cmake --build build --target list_scale")
    work = tempfile.mkdtemp(prefix="riptide-list-scale-")
    ok = True
    try:
        for label, missing in (("full manifest (noop)", 0), ("manifest missing 1 %", 10)):
            db = os.path.join(work, f"m{missing}")
            os.makedirs(db)
            t0 = time.time()
            subprocess.run([BIN, "build", db, str(args.keys), str(missing)], check=True)
            built = time.time() - t0
            out = subprocess.run([BIN, "diff", db, str(args.keys)], check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            per_million = r["cpu_seconds"] / (args.keys / 1e6)
            print(f"{label}: {r['listed']:,} keys listed and diffed in {r['seconds']:.1f} s, "
                  f"{per_million:.2f} CPU-s per million keys, peak RSS {r['peak_rss_mib']:.0f} MiB (target ≤ 150); "
                  f"new {r['new']:,}, unchanged {r['unchanged']:,}, gone {r['gone']:,} "
                  f"(manifest built in {built:.0f} s)")
            ok = ok and r["peak_rss_mib"] <= 150 and r["listed"] == args.keys and r["new"] == args.keys * missing // 1000
            shutil.rmtree(db)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("verdict: " + ("flat memory, every key accounted for" if ok else "OVER THE TARGET OR KEYS MISCOUNTED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
