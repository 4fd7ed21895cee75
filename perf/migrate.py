"""The `migrate` workload: 8 objects of 256 MiB and 2,000 of 64 KiB on one s3rver, copied
to a second s3rver on another port by riptide (streamed, through named remotes of an
rclone.conf) and by `rclone copy` between the same two remotes; then, on one server,
riptide's server-side copy against its streamed copy. One row per run: MB/s, CPU, peak RSS.
"""
import os
import shutil
import subprocess
import sys
import time

from bench import BUCKET, KEY, RIPTIDE, SECRET, seed_store, timed_json, timed
from processes import start_s3rver

DEST_BUCKET = "dest"


def objects(scale):
    big = [(f"migrate/big/blob-{i}.bin", 256 << 20) for i in range(max(1, int(8 * scale)))]
    small = [(f"migrate/small/{i % 20:02d}/obj-{i:05d}.bin", 64 << 10) for i in range(int(2000 * scale))]
    return big + small


class Server:
    def __init__(self, store, log_path):
        self.proc, self.endpoint = start_s3rver(store, log_path)

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=KEY,
                            aws_secret_access_key=SECRET, config=Config(s3={"addressing_style": "path"}))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def listed(server, bucket, prefix):
    s3 = server.client()
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"][len(prefix):]: o["Size"] for o in page.get("Contents", [])})
    return out


def run(workdir, scale, riptide_args, bins=None, rounds=1):
    objs = objects(scale)
    total = sum(s for _, s in objs)
    src_store, dst_store = os.path.join(workdir, "src"), os.path.join(workdir, "dst")
    os.makedirs(os.path.join(dst_store, DEST_BUCKET))
    t0 = time.time()
    seed_store(src_store, objs)
    subprocess.run(["sync"])
    print(f"seeded {len(objs)} objects, {total / 2**20:.0f} MiB in {time.time() - t0:.1f} s", file=sys.stderr)
    src, dst = Server(src_store, os.path.join(workdir, "src.log")), Server(dst_store, os.path.join(workdir, "dst.log"))
    conf = os.path.join(workdir, "rclone.conf")
    with open(conf, "w") as f:
        for name, server in (("src", src), ("dst", dst)):
            f.write(f"[{name}]\ntype = s3\nprovider = Other\nendpoint = {server.endpoint}\n"
                    f"access_key_id = {KEY}\nsecret_access_key = {SECRET}\nforce_path_style = true\n\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["RCLONE_CONFIG"] = conf
    expected = {k[len("migrate/"):]: s for k, s in objs}
    print(f"# workload migrate: {len(objs)} objects, {total / 2**20:.0f} MiB; {os.cpu_count()} cores; "
          f"s3rver → s3rver on 127.0.0.1")
    print(f"{'client':<44} {'wall s':>8} {'MB/s':>8} {'obj/s':>8} {'CPU s':>7} {'RSS MiB':>8}")
    rows = {}

    def row(label, wall, cpu, rss, note):
        rows[label] = (wall, cpu, rss)
        print(f"{label:<44} {wall:8.2f} {total / 1e6 / wall:8.1f} {len(objs) / wall:8.0f} {cpu:7.2f} {rss:8.0f}  {note}")
        sys.stdout.flush()

    def check(server, bucket, prefix):
        got = listed(server, bucket, prefix)
        return "" if got == expected else f"INCOMPLETE ({len(got)} of {len(expected)} objects)"

    bins = bins or [(RIPTIDE, "riptide")]
    try:
        for rnd in range(rounds):
            for binary, name in (bins if rnd % 2 == 0 else bins[::-1]):
                for extra in riptide_args or [[]]:
                    label = f"{name} sync src: → dst: (streamed)" + (" " + " ".join(extra) if extra else "")
                    wall, cpu, rss, code, doc = timed_json(
                        [binary, "sync", f"src:{BUCKET}/migrate", f"dst:{DEST_BUCKET}/r", "--json", "--no-progress",
                         *extra], env)
                    row(label, wall, cpu, rss,
                        check(dst, DEST_BUCKET, "r/") + f" exit {code}, {doc.get('requests')} requests")
                    shutil.rmtree(os.path.join(dst_store, DEST_BUCKET, "r"), ignore_errors=True)
        if shutil.which("rclone"):
            wall, cpu, rss, code = timed(["rclone", "copy", f"src:{BUCKET}/migrate", f"dst:{DEST_BUCKET}/c",
                                          "--transfers", "16", "--checkers", "16", "--fast-list"], env)
            row("rclone copy src: → dst: (--transfers 16 --fast-list)", wall, cpu, rss, check(dst, DEST_BUCKET, "c/") + f" exit {code}")
            shutil.rmtree(os.path.join(dst_store, DEST_BUCKET, "c"), ignore_errors=True)
        # One server: server-side against streamed, from a copy already there.
        for binary, name in bins:
            base = [binary, "sync", f"src:{BUCKET}/migrate", "--json", "--no-progress"]
            for n, extra in enumerate(riptide_args or [[]]):
                for mode in ("server-side", "streamed"):
                    wall, cpu, rss, code, doc = timed_json(
                        [*base, f"src:{BUCKET}/copy-{mode}-{name}-{n}", "--copy-mode", mode, *extra], env)
                    row(f"{name} src: → src: ({mode})" + (" " + " ".join(extra) if extra else ""), wall, cpu, rss,
                        f"exit {code}, {doc.get('requests')} requests")
        rip = rows.get("riptide sync src: → dst: (streamed)")
        rcl = rows.get("rclone copy src: → dst: (--transfers 16 --fast-list)")
        if rip and rcl:
            print(f"# targets: throughput {rcl[0] / rip[0]:.2f}x rclone's (>= 1.25), "
                  f"peak RSS {rip[2] / rcl[2]:.2f}x rclone's (<= 0.5)")
    finally:
        src.stop()
        dst.stop()
