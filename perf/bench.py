#!/usr/bin/env python3
"""riptide's benchmark: seeds s3rver on 127.0.0.1, mirrors the bucket with riptide and
with peer tools, and prints one row per client. Figures are only comparable within one
run: the machines are shared and noisy.

    perf/bench.sh WORKLOAD [CLIENT ...]     WORKLOAD: small large mixed noop huge migrate
    clients: riptide curl files disk rclone aws s3cmd (default: all that are installed)

riptide is build/riptide, or $RIPTIDE_BIN; the delay line build/delay_line, or
$RIPTIDE_DELAY_LINE (the tests set both to the binaries under test).

`huge` is riptide alone at bucket scale: 1,000,000 keys of 1 KiB, an initial mirror,
`riptide ls --recursive` (one listing, the floor of any re-sync), a noop re-sync, and
a re-sync after 1% of the objects changed, each with requests sent and peak RSS.
`migrate` copies between two s3rvers (perf/migrate.py): riptide against `rclone copy`,
and server-side against streamed copies.

`--far MS` puts build/delay_line between the clients and s3rver (MS of latency per
round trip, `--rate` bytes/s per connection); `--cap N` puts perf/delay_proxy.py there
instead, answering SlowDown above N requests in flight. riptide rows then also show its SlowDowns (of its requests) and the
concurrency it ended at, which is how `--concurrency auto` is judged against fixed ones.
Each round starts with the next client (the first run after seeding is slow for any).
`--far 30,0` runs every client through each latency in every round, the order rotating,
within one server's life; `--near-too` straight to s3rver as well. Latency hidden is the
30 ms rows against the 0 ms ones (the same path and rate, no latency).

Beside each client's own CPU, a row shows what s3rver (`srv CPU`) and the delay proxy
(`pxy CPU`) spent while it ran, and `busy`: the three together against all the machine's
cores for the wall time. Near 100 %, the cores are full and a client can only go faster
by spending less: the server shares them.
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from processes import (RIPTIDE, ROOT, S3RVER, S3RVER_KEY, process_cpu,  # noqa: E402,F401
                       start_s3rver, timed, timed_json)
from datasets import describe, durable_sync, set_aside, tree_size  # noqa: E402
import ceilings  # noqa: E402
KEY = SECRET = S3RVER_KEY
BUCKET = ceilings.BUCKET


def workload_objects(name, scale):
    """[(key, size)] for a workload; sizes and layout as the throughput issue defines."""
    rng = random.Random(20261122)
    if name in ("small", "noop"):
        n = int(20000 * scale)
        return [(f"small/{i % 20:02d}/{(i // 20) % 50:02d}/obj-{i:06d}.bin", 64 << 10) for i in range(n)]
    if name == "huge":
        n = int(1_000_000 * scale)
        return [(f"huge/{i % 100:02d}/{(i // 100) % 100:02d}/obj-{i:07d}.bin", 1 << 10) for i in range(n)]
    if name == "large":
        return [(f"large/blob-{i}.bin", 512 << 20) for i in range(max(1, int(4 * scale)))]
    if name == "mixed":
        lo, hi = math.log(1 << 10), math.log(64 << 20)
        return [(f"mixed/{i % 16:02d}/obj-{i:05d}.bin", int(math.exp(rng.uniform(lo, hi))))
                for i in range(int(2000 * scale))]
    raise SystemExit(f"unknown workload {name}")


def seed_store(store, objects, salt=0):
    """Writes objects the way s3rver stores a PUT: far faster than uploading them.
    A different `salt` gives each object different content (a change). Many objects
    are written by one process per core."""
    if len(objects) >= 20000 and (os.cpu_count() or 1) > 1:
        import multiprocessing
        n = os.cpu_count()
        with multiprocessing.Pool(n) as pool:
            pool.starmap(_seed_slice, [(store, objects, salt, k, n) for k in range(n)])
    else:
        _seed_slice(store, objects, salt, 0, 1)


def _seed_slice(store, objects, salt, first, step):
    pool = random.Random(1).randbytes(64 << 20)
    made = set()
    for i in range(first, len(objects), step):
        key, size = objects[i]
        path = os.path.join(store, BUCKET, key)
        folder = os.path.dirname(path)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        md5 = hashlib.md5()
        with open(path + "._S3rver_object", "wb") as f:
            left, off = size, ((i + salt) * 7919) % (len(pool) - 1)
            while left:
                chunk = pool[off:off + min(left, len(pool) - off)]
                f.write(chunk)
                md5.update(chunk)
                left -= len(chunk)
                off = 0
        with open(path + "._S3rver_object.md5", "w") as f:
            f.write(md5.hexdigest())
        with open(path + "._S3rver_metadata.json", "w") as f:
            f.write('{"content-type": "application/octet-stream"}')


class Bench:
    def __init__(self, workdir, workload, scale):
        self.workdir = workdir
        self.workload = workload
        self.objects = workload_objects(workload, scale)
        self.prefix = self.objects[0][0].split("/")[0]
        self.total = sum(s for _, s in self.objects)
        self.store = os.path.join(workdir, "store")
        self.endpoint = None  # once start() has the server listening
        self.proxies = []     # --far / --cap: the delay lines or proxies in front of it
        self.rows = []
        # The server's and proxy's CPU so far (name -> reader), and their share of the last command.
        self.watch, self.others = {}, {}
        self.riptide_args = []
        self.bin, self.bin_label = RIPTIDE, "riptide"  # --baseline swaps these per row
        self.path = ""  # with two paths or more, the path after each row's client: " 30 ms", " direct"

    def start(self):
        t0 = time.time()
        seed_store(self.store, self.objects)
        # The seed's dirty pages would otherwise be flushed by whichever client runs first.
        subprocess.run(["sync"])
        print(f"seeded {len(self.objects)} objects, {self.total / 2**20:.0f} MiB in {time.time() - t0:.1f} s",
              file=sys.stderr)
        self.server, self.endpoint = start_s3rver(self.store, os.path.join(self.workdir, "s3rver.log"))
        self.watch["server"] = lambda: process_cpu(self.server.pid)
        self.listing_s = 0
        if self.workload != "huge":  # a million keys through boto3 would take longer than the runs
            self.check_listing()

    def put_behind_proxies(self, latencies_ms, rate, cap):
        """A delay line (or proxy) per latency, each straight to the server; (label, endpoint)
        for each path to run the clients through."""
        from delay_proxy import far_away
        port = int(self.endpoint.rsplit(":", 1)[1])
        self.proxies = [far_away(port, ms, rate, cap) for ms in latencies_ms]
        # An idle one spends nothing: what they spent together is the path's in use.
        self.watch["proxy"] = lambda: sum(p.cpu() for p in self.proxies)
        return [(f" {ms:g} ms", p.endpoint) for ms, p in zip(latencies_ms, self.proxies)]

    def check_listing(self):
        import boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          config=Config(s3={"addressing_style": "path"}))
        t0 = time.time()
        listed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=self.prefix + "/"):
            listed += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
        self.listing_s = time.time() - t0
        if sorted(listed) != sorted(self.objects):
            raise SystemExit("s3rver's listing does not match the seeded objects")

    def stop(self):
        self.server.terminate()
        self.server.wait()

    def dest(self, name):
        d = os.path.join(self.workdir, "dest-" + name)
        # Not deleted here: the client about to run would pay for the freed inodes (datasets.py).
        set_aside(d, os.path.join(self.workdir, "trash"), 2 * self.total + (4 << 30))
        os.makedirs(d)
        return d

    def watched(self, run, *args):
        """run(*args) (timed or timed_json), noting what the watched processes spent meanwhile."""
        before = {name: cpu() for name, cpu in self.watch.items()}
        result = run(*args)
        self.others = {name: cpu() - before[name] for name, cpu in self.watch.items()}
        return result

    def row(self, client, wall, cpu, rss, durable=None, check=None, note="", others=None):
        """One client's row; `others` is the CPU the server (and proxy) spent meanwhile."""
        durable = wall if durable is None else durable
        client += self.path
        others = self.others if others is None else others
        server, proxy = others.get("server", 0), others.get("proxy", 0)
        # How much of the machine was in use while the client ran: the client's, the
        # server's and the proxy's CPU against every core for the wall time.
        busy = (cpu + server + proxy) / ((os.cpu_count() or 1) * wall) if wall else 0
        mbps = self.total / 1e6 / durable if durable else 0
        objs = len(self.objects) / durable if durable else 0
        # What the bytes and the objects cost the client: CPU seconds per GiB and per 1,000 objects.
        per_gib = cpu / (self.total / 2**30) if self.total else 0
        per_kobj = cpu / (len(self.objects) / 1000) if self.objects else 0
        self.rows.append((client, wall, durable, mbps, objs, cpu, rss, note, per_gib, per_kobj, server, proxy, busy))
        print(f"{client:<34} {wall:8.2f} {durable:9.2f} {mbps:8.1f} {objs:9.0f} {cpu:7.2f} {per_gib:7.2f} "
              f"{per_kobj:8.3f} {rss:8.0f} {server:7.2f} {proxy:7.2f} {100 * busy:5.0f}%  {note}")
        sys.stdout.flush()

    def verify(self, d):
        n, b = tree_size(d)
        ok = n == len(self.objects) and b == self.total
        return "" if ok else f"INCOMPLETE ({n} files, {b} bytes)"

    # Clients ---------------------------------------------------------------------------
    def run_riptide(self, noop=False):
        d = self.dest("riptide")
        cmd = [self.bin, "sync", f"s3://{BUCKET}/{self.prefix}", d, "--endpoint", self.endpoint, "--no-progress",
               *self.riptide_args]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
        if noop:
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        wall, cpu, rss, _, doc = self.watched(timed_json, cmd + ["--json"], env)
        label = self.bin_label + (" noop" if noop else "") + (" " + " ".join(self.riptide_args) if self.riptide_args else "")
        note = "" if noop else self.verify(d)
        if doc.get("requests"):
            # What a server pushed back, and where --concurrency auto ended (and peaked).
            note += (f" SlowDowns {doc.get('throttled', 0)} of {doc['requests']} requests"
                     f" ({100 * doc.get('throttled', 0) / doc['requests']:.1f}%), concurrency {doc.get('concurrency')}"
                     + (f" (peak {doc['concurrency_peak']})" if doc.get("concurrency_auto") else ""))
        self.row(label, wall, cpu, rss, wall + durable_sync(), None, note.strip())

    def run_huge(self):
        """Initial mirror, one listing, a noop re-sync, a 1% change: time, requests, RSS."""
        d = self.dest("riptide")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
        url = f"s3://{BUCKET}/{self.prefix}"
        base = ["--endpoint", self.endpoint, "--no-progress"]

        def sync(label, expect_transferred):
            wall, cpu, rss, code, out = self.watched(timed_json, [RIPTIDE, "sync", url, d, *base, "--json"], env)
            note = f"{out.get('requests', '?')} requests, transferred {out.get('transferred', '?')}"
            if out.get("transferred") != expect_transferred or code != 0:
                note += f" (EXPECTED {expect_transferred}, exit {code})"
            self.row(label, wall, cpu, rss, None, None, note)
            return wall, rss

        sync("riptide initial mirror", len(self.objects))
        # A listing and a noop re-sync, alternated twice: the server's pace drifts.
        listings, noops = [], []
        for _ in range(2):
            listings.append(self.run_listing("riptide ls -r (one listing)")[0])
            noops.append(sync("riptide noop re-sync", 0))
        changed = self.objects[::100]
        seed_store(self.store, changed, salt=7)
        changed_wall, changed_rss = sync("riptide re-sync, 1% changed", len(changed))
        noop_wall = sum(w for w, _ in noops) / len(noops)
        listing = sum(listings) / len(listings)
        print(f"# targets: noop {noop_wall / listing:.2f}x one listing (<= 1.10, means of two), peak RSS "
              f"{max([changed_rss] + [r for _, r in noops]):.0f} MiB (<= 150)")

    def run_listing(self, label):
        """One `riptide ls -r` of the workload: (wall, CPU, RSS, the server's CPU meanwhile)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
        wall, cpu, rss, code = self.watched(timed, [RIPTIDE, "ls", f"s3://{BUCKET}/{self.prefix}", "--recursive",
                                                    "--endpoint", self.endpoint], env)
        self.row(label, wall, cpu, rss, None, None,
                 f"{math.ceil(len(self.objects) / 1000)} requests" + ("" if code == 0 else f" exit {code}"))
        return wall, cpu, rss, self.others

    def run_rclone(self, noop=False):
        d = self.dest("rclone")
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        env.update(RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other",
                   RCLONE_CONFIG_BENCH_ENDPOINT=self.endpoint, RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=KEY,
                   RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true")
        cmd = ["rclone", "copy", f"bench:{BUCKET}/{self.prefix}", d, "--transfers", "64", "--checkers", "64",
               "--multi-thread-streams", "8", "--multi-thread-cutoff", "64M", "--fast-list",
               "--use-server-modtime"]
        if noop:
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, cpu, rss, _ = self.watched(timed, cmd, env)
        self.row("rclone" + (" noop" if noop else ""), wall, cpu, rss, wall + durable_sync(), None,
                 "" if noop else self.verify(d))

    def run_aws(self):
        d = self.dest("aws")
        cfg = os.path.join(self.workdir, "aws-config")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 64\n")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_CONFIG_FILE=cfg)
        wall, cpu, rss, _ = self.watched(timed, ["aws", "s3", "sync", f"s3://{BUCKET}/{self.prefix}", d, "--endpoint-url",
                                   self.endpoint, "--only-show-errors"], env)
        self.row("aws s3 sync", wall, cpu, rss, wall + durable_sync(), None, self.verify(d))

    def run_s3cmd(self):
        d = self.dest("s3cmd")
        host = self.endpoint.split("://", 1)[1]
        wall, cpu, rss, _ = self.watched(timed, ["s3cmd", "sync", "--no-ssl", f"--host={host}", f"--host-bucket={host}",
                                   f"--access_key={KEY}", f"--secret_key={SECRET}", "--no-check-md5",
                                   "--quiet", f"s3://{BUCKET}/{self.prefix}/", d + "/"])
        self.row("s3cmd sync", wall, cpu, rss, wall + durable_sync(), None, self.verify(d))

    # The ceilings (perf/ceilings.py): what the server and the disk allow any client.
    run_curl, run_files, run_disk = ceilings.run_curl, ceilings.run_files, ceilings.run_disk


def Bins(baseline):
    """(binary, row label) of each riptide to run: build/riptide, and the baseline if any."""
    head = (RIPTIDE, "riptide")
    return [(os.path.abspath(baseline), "riptide@baseline"), head] if baseline else [head]


def rotated(items, n):
    """items, starting at the nth (round n's order)."""
    n %= len(items)
    return items[n:] + items[:n]


def run_client(b, c, rnd, args):
    """Client c's rows of round rnd: a row per --riptide-args set and binary for riptide."""
    variants = [a.split() for a in args.riptide_args] if c == "riptide" and args.riptide_args else [[]]
    bins = Bins(args.baseline) if c == "riptide" else [(RIPTIDE, "riptide")]
    for v in rotated(variants, rnd):
        for b.bin, b.bin_label in rotated(bins, rnd):
            b.riptide_args = v
            if args.workload == "noop":
                getattr(b, "run_" + c)(noop=True)
            else:
                getattr(b, "run_" + c)()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["small", "large", "mixed", "noop", "huge", "migrate"])
    ap.add_argument("clients", nargs="*")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the workload's object count")
    ap.add_argument("--workdir", default=os.environ.get("RIPTIDE_BENCH_DIR"))
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--baseline", help="another riptide binary (an older build) to run beside build/riptide, "
                    "alternating order round by round: the A/B of a change")
    ap.add_argument("--rounds", type=int, default=1, help="run the clients this many times (default 1)")
    ap.add_argument("--far", default="0", metavar="MS[,MS...]",
                    help="put a delay proxy adding MS of latency per request between the clients and s3rver; "
                    "several: a delay line each, every client runs through each in every round")
    ap.add_argument("--rate", type=int, default=0, help="with --far: bytes per second per connection")
    ap.add_argument("--near-too", action="store_true",
                    help="with --far: every round also runs each client straight to s3rver")
    ap.add_argument("--cap", type=int, default=0, help="the proxy answers SlowDown above N requests in flight")
    ap.add_argument("--riptide-args", action="append", default=[],
                    help="a riptide flag set to try (repeatable: one riptide row each), e.g. '--part-size 32M'")
    args = ap.parse_args()
    available = ["riptide", "curl", "files", "disk"] + [t for t in ("rclone", "aws", "s3cmd") if shutil.which(t)]
    clients = args.clients or available
    if args.workload == "noop":
        clients = [c for c in clients if c in ("riptide", "rclone")]
    if args.workload == "huge":
        clients = ["huge"]
    workdir = tempfile.mkdtemp(prefix="riptide-bench-", dir=args.workdir)
    if args.workload == "migrate":
        import migrate
        try:
            migrate.run(workdir, args.scale, [a.split() for a in args.riptide_args],
                        Bins(args.baseline), args.rounds)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    b = Bench(workdir, args.workload, args.scale)
    try:
        b.start()
        latencies = [float(ms) for ms in args.far.split(",")]
        paths = [(" direct", b.endpoint)]  # (what a row's client is followed by, the endpoint)
        if any(latencies) or args.cap or args.rate:
            paths = b.put_behind_proxies(latencies, args.rate, args.cap) + (paths if args.near_too else [])
        if len(paths) == 1:  # one path: the rows say only the client
            paths = [("", paths[0][1])]
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        print(f"# workload {args.workload}: {len(b.objects)} objects, {b.total / 2**20:.0f} MiB; "
              f"{os.cpu_count()} cores; riptide {rev}; listing by boto3 {b.listing_s:.2f} s; {describe(workdir)}"
              + (f"; through {type(b.proxies[0]).__name__}: {args.far} ms, {args.rate or 'no'} B/s per connection, "
                 f"cap {args.cap or 'none'}" + ("; and direct" if args.near_too else "")
                 if b.proxies else ""))
        print(f"{'client':<34} {'wall s':>8} {'durable s':>9} {'MB/s':>8} {'obj/s':>9} {'CPU s':>7} {'CPU/GiB':>7} "
              f"{'CPU/1k':>8} {'RSS MiB':>8} {'srv CPU':>7} {'pxy CPU':>7} {'busy':>6}")
        for rnd in range(args.rounds):
            # The first run after seeding meets memory the VM has not touched and is slow for
            # any client: each round starts with the next client, and the next path.
            for b.path, b.endpoint in rotated(paths, rnd):
                for c in rotated(clients, rnd):
                    run_client(b, c, rnd, args)
        if args.workload == "noop":
            b.row("bare listing", b.listing_s, 0, 0, None, None, "boto3 paginate, same server", others={})
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"workload": args.workload, "rows": b.rows}, f)
    finally:
        for p in b.proxies:
            p.stop()
        b.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
