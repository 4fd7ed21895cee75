#!/usr/bin/env python3
"""Runs one integration module for CTest and makes skips visible.

    python3 run_suite.py MODULE

Every skipped test is printed with its reason. A module whose tests were all skipped
exits 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE), never as a pass.
"""
import sys
import unittest


def main():
    module = sys.argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id()}: {reason}")
    if not result.wasSuccessful():
        return 1
    # A class skipped in setUpClass counts once in `skipped` and not in testsRun.
    ran = result.testsRun - sum(1 for test, _ in result.skipped if not test.id().startswith("setUpClass"))
    if result.skipped and ran <= 0:
        print(f"every test of {module} was skipped on this server")
        return 77
    print(f"{ran} run, {len(result.skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
