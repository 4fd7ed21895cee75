"""Listing a big prefix from far away: sequential pages against key-range listing.

Two servers, each behind a proxy that adds a fixed latency to every request (a
cross-region round trip, 30 ms by default):
- s3rver holding --s3rver-keys objects (written straight into its store). It is
  single-threaded and spends ~90 ms of CPU on a page, so on this machine it, not the
  round trip, bounds any listing: the table shows that ceiling.
- perf/listing_server.py holding --keys generated keys in memory (a few ms a page),
  standing in for a far region's S3, whose servers have headroom.
`riptide ls -r` lists the prefix at each --list-concurrency; every run must print the
same keys in the same order as the sequential one (checked by hash). One row per
setting: wall seconds, keys/s, the speed-up over sequential, riptide's CPU seconds and
peak RSS, and the requests the proxy saw; rclone's `lsf -R` when rclone is installed.

    python3 perf/list_bench.py [--keys 1000000] [--s3rver-keys 100000] [--latency-ms 30]
                               [--concurrency 1,4,16,64]
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BUCKET, seed_store, timed  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402
from listing_server import ListingServer  # noqa: E402
from processes import RIPTIDE, start_s3rver  # noqa: E402

ENV = dict(os.environ, AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER")


def keys(n):
    # Nested as real datasets are (s3rver reads only the folders a page needs).
    return [(f"list/{i % 100:02d}/{(i // 100) % 100:02d}/obj-{i:07d}.bin", 1) for i in range(n)]


def listing(endpoint, out, concurrency):
    """(wall, cpu, rss MiB, lines, sha256 of the output) of one `riptide ls -r`."""
    cmd = [RIPTIDE, "ls", "-r", f"s3://{BUCKET}/list/", "--endpoint", endpoint,
           "--list-concurrency", str(concurrency)]
    with open(out, "wb") as f:
        wall, cpu, rss, code = timed(cmd, env=ENV, stdout=f)
    if code != 0:
        raise SystemExit(f"riptide ls exited {code} at --list-concurrency {concurrency}")
    digest, lines = hashlib.sha256(), 0
    with open(out, "rb") as f:
        for line in f:
            digest.update(line)
            lines += 1
    return wall, cpu, rss, lines - 1, digest.hexdigest()  # the last line is the total


def rclone_row(endpoint, out):
    if not shutil.which("rclone"):
        return None
    env = dict(ENV, RCLONE_CONFIG_B_TYPE="s3", RCLONE_CONFIG_B_PROVIDER="Other",
               RCLONE_CONFIG_B_ENDPOINT=endpoint, RCLONE_CONFIG_B_ACCESS_KEY_ID="S3RVER",
               RCLONE_CONFIG_B_SECRET_ACCESS_KEY="S3RVER")
    with open(out, "wb") as f:
        wall, cpu, rss, code = timed(["rclone", "lsf", "-R", "--files-only", f"b:{BUCKET}/list"], env=env, stdout=f)
    return wall, cpu, rss, code


def table(title, n, ceiling, proxy, concurrencies, out):
    """Rows for one server: its own ceiling, then riptide at each setting through `proxy`."""
    wall, cpu, rss, listed, want = ceiling
    print(f"\n{title}: {n:,} keys, {proxy.latency * 1000:g} ms added per request")
    print(f"{'setting':<30}{'wall s':>9}{'keys/s':>11}{'speed-up':>10}{'CPU s':>8}{'RSS MiB':>9}{'requests':>10}  same")
    print(f"{'no proxy, sequential':<30}{wall:>9.2f}{listed / wall:>11,.0f}{'':>10}{cpu:>8.2f}{rss:>9.0f}{'':>10}  -")
    if listed != n:
        raise SystemExit(f"the server listed {listed} keys, not {n}")
    base = None
    for c in concurrencies:
        before = proxy.requests
        wall, cpu, rss, listed, digest = listing(proxy.endpoint, out, c)
        base = base or wall
        same = "yes" if digest == want and listed == n else "NO"
        print(f"{'riptide --list-concurrency ' + str(c):<30}{wall:>9.2f}{listed / wall:>11,.0f}{base / wall:>9.1f}x"
              f"{cpu:>8.2f}{rss:>9.0f}{proxy.requests - before:>10}  {same}", flush=True)
        if same != "yes":
            raise SystemExit("key-range listing gave other keys or another order")
    r = rclone_row(proxy.endpoint, out)
    if r:
        print(f"{'rclone lsf -R':<30}{r[0]:>9.2f}{n / r[0]:>11,.0f}{base / r[0]:>9.1f}x{r[1]:>8.2f}{r[2]:>9.0f}")
    else:
        print("rclone: not installed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--s3rver-keys", type=int, default=100_000)
    ap.add_argument("--latency-ms", type=float, default=30.0)
    ap.add_argument("--concurrency", default="1,4,16,64")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    concurrencies = [int(x) for x in args.concurrency.split(",")]
    work = args.workdir or tempfile.mkdtemp(prefix="riptide-list-bench-")
    out = os.path.join(work, "out.txt")
    try:
        fast = ListingServer(BUCKET, [k for k, _ in keys(args.keys)])
        proxy = DelayProxy(fast.port, args.latency_ms)
        table("in-memory listing server", args.keys, listing(fast.endpoint, out, 1), proxy, concurrencies, out)
        proxy.stop()
        fast.stop()
        del fast
        store = os.path.join(work, "store")
        if not os.path.isdir(os.path.join(store, BUCKET, "list")):
            print(f"\nseeding {args.s3rver_keys:,} keys into {store} ...", flush=True)
            os.makedirs(os.path.join(store, BUCKET), exist_ok=True)
            seed_store(store, keys(args.s3rver_keys))
        server, endpoint = start_s3rver(store, os.path.join(work, "s3rver.log"))
        proxy = DelayProxy(int(endpoint.rsplit(":", 1)[1]), args.latency_ms)
        try:
            table("s3rver", args.s3rver_keys, listing(endpoint, out, 1), proxy, concurrencies, out)
        finally:
            proxy.stop()
            server.terminate()
            server.wait()
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
