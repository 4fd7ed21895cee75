"""The ceilings a benchmark row is read against, each a method of bench.Bench:
`curl`   parallel signed GETs to /dev/null at a few depths, then the listing: what the
         server serves, with nothing written;
`files`  the same GETs written into the dataset's files by curl, then `sync`: what a tool
         that makes the bytes durable gets from this server and this disk, with no hashing,
         no manifest and no rename (the durable ceiling);
`disk`   one file of up to 2 GiB written by dd with fdatasync: the disk alone."""
import os

from datasets import durable_sync
from processes import S3RVER_KEY, timed

BUCKET = "bench"
CURL_DEPTHS = (4, 16, 64)  # requests in flight of the curl ceiling's rows
FILES_DEPTH = 64           # requests in flight of the durable ceiling (rclone's --transfers)
PART = 16 << 20            # the range of a large object's requests to /dev/null


def _curl(self, cfg, depth):
    """curl with config `cfg`, `depth` in flight: (wall, cpu, rss, exit code)."""
    # s3rver rejects signed requests without x-amz-content-sha256; -f makes any error fail the row.
    return self.watched(timed, ["curl", "-sf", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--create-dirs",
                                "--parallel", "--parallel-max", str(depth), "--aws-sigv4", "aws:amz:us-east-1:s3",
                                "--user", f"{S3RVER_KEY}:{S3RVER_KEY}", "-K", cfg])


def run_curl(self):
    """The server's ceiling: parallel signed GETs to /dev/null (ranged for big objects)."""
    cfg = os.path.join(self.workdir, "curl.cfg")
    with open(cfg, "w") as f:
        for key, size in self.objects:
            url = f"{self.endpoint}/{BUCKET}/{key}"
            # Every URL states its range: in a curl config file an option persists for
            # the URLs after it.
            for off in range(0, max(size, 1), PART):
                f.write(f'url = "{url}"\noutput = "/dev/null"\nrange = {off}-{max(min(size, off + PART) - 1, 0)}\n')
    # A row per depth: s3rver serves small objects fastest over a few connections,
    # large ones over many, and the ceiling is the best of them.
    best = None
    for depth in CURL_DEPTHS:
        wall, cpu, rss, code = _curl(self, cfg, depth)
        self.row(f"curl ceiling, {depth} in flight", wall, cpu, rss, wall, None,
                 "to /dev/null" if code == 0 else "HTTP ERRORS")
        if best is None or wall < best[0]:
            best = (wall, cpu, rss, self.others)
    # A mirror lists before it can GET, and a single-threaded server does both on its one
    # core: the ceiling of a mirror is the listing plus the best GET row.
    listing = self.run_listing("listing alone (riptide ls -r)")
    others = {k: listing[3].get(k, 0) + best[3].get(k, 0) for k in best[3]}
    self.row("curl ceiling + listing", listing[0] + best[0], listing[1] + best[1], max(listing[2], best[2]),
             None, None, "the best row above after the listing", others)


def run_files(self):
    """The durable ceiling: every object in one whole GET into its file, then `sync`."""
    d = self.dest("files")
    cfg = os.path.join(self.workdir, "files.cfg")
    with open(cfg, "w") as f:
        for key, _ in self.objects:
            f.write(f'url = "{self.endpoint}/{BUCKET}/{key}"\n'
                    f'output = "{os.path.join(d, key.split("/", 1)[1])}"\n')
    wall, cpu, rss, code = _curl(self, cfg, FILES_DEPTH)
    note = "HTTP ERRORS" if code else self.verify(d) or "whole GETs into files, then sync; no listing, no hashing"
    self.row(f"curl into files, {FILES_DEPTH} in flight", wall, cpu, rss, wall + durable_sync(), None, note)


def run_disk(self):
    path = os.path.join(self.workdir, "dd.bin")
    n = max(1, min(2048, self.total >> 20))
    wall, cpu, rss, _ = timed(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={n}", "conv=fdatasync"])
    os.unlink(path)
    mbps = (n << 20) / 1e6 / wall
    self.rows.append(("disk fdatasync", wall, wall, mbps, 0, cpu, rss, ""))
    print(f"{'disk fdatasync':<34} {wall:8.2f} {wall:9.2f} {mbps:8.1f} {'-':>9} {cpu:7.2f} {rss:8.0f}  "
          f"dd {n} MiB")
