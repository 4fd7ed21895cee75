#!/usr/bin/env python3
"""Adds up what the integration suites ran and skipped, per server, from the JSON files
tests/integration/run_suite.py leaves in DIR, and prints every skip with its reason.

    scripts/test_counts.py DIR
"""
import glob
import json
import os
import sys


def main():
    rows = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
    if not rows:
        print("integration: no suite reported its counts")
        return 0
    for server in sorted({r["server"] for r in rows}):
        mine = [r for r in rows if r["server"] == server]
        for r in mine:
            for skip in r["skipped"]:
                print(f"  skipped on {server}: {skip}")
        ran, skipped = sum(r["ran"] for r in mine), sum(len(r["skipped"]) for r in mine)
        failed = [r["module"] for r in mine if not r["ok"]]
        print(f"integration on {server}: {ran} tests ran, {skipped} skipped, in {len(mine)} suites"
              + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
