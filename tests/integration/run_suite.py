#!/usr/bin/env python3
"""Runs one integration module for CTest and makes skips visible.

    python3 run_suite.py MODULE

Every skipped test is printed with its reason. A module whose tests were all skipped
exits 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE), never as a pass. With
RIPTIDE_COUNTS_DIR set, the counts also go to a JSON file there, which scripts/test.sh
adds up per server.
"""
import json
import os
import sys
import unittest


def record(module, ran, skipped, ok):
    folder = os.environ.get("RIPTIDE_COUNTS_DIR")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    server = os.environ.get("RIPTIDE_TEST_SERVER", "moto")
    with open(os.path.join(folder, f"{server}.{module}.json"), "w") as f:
        json.dump({"server": server, "module": module, "ran": ran, "ok": ok,
                   "skipped": [f"{test.id()}: {reason}" for test, reason in skipped]}, f)


def main():
    module = sys.argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id()}: {reason}")
    # A class skipped in setUpClass counts once in `skipped` and not in testsRun.
    ran = result.testsRun - sum(1 for test, _ in result.skipped if not test.id().startswith("setUpClass"))
    record(module, ran, result.skipped, result.wasSuccessful())
    if not result.wasSuccessful():
        return 1
    if result.skipped and ran <= 0:
        print(f"every test of {module} was skipped on this server")
        return 77
    print(f"{ran} run, {len(result.skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
