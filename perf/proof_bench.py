#!/usr/bin/env python3
"""What a download's proof costs: one large object fetched in ranges from moto, proved by
the object's own CRC64NVME (asked with a HEAD) against the same bytes proved by MD5 (an
object that carries no checksum), and by its parts' MD5s (an md5-N object uploaded in
16 MiB parts: hashed side by side in lanes where the CPU has AVX2 or AVX-512). Prints
riptide's CPU seconds, wall and peak RSS each.

    perf/proof_bench.py [--mib 512] [--rounds 2] [--bin PATH]...   (--bin again: compare binaries)
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from support import BIN, S3Server, crc64nvme, manifest_rows  # noqa: E402


def download(binary, server, bucket, key, dataset):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "sync", f"s3://{bucket}/{key}", dataset, "--endpoint",
                        server.endpoint, "--part-size", "16M"], env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"riptide failed: {p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss_mib = int(p.stderr.strip().splitlines()[-1]) / 1024
    proof = next(iter(manifest_rows(dataset).values()))[2]
    return wall, cpu, rss_mib, proof


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bin", action="append", help="riptide binaries to compare (default: the build's)")
    args = parser.parse_args()
    binaries = args.bin or [BIN]
    server = S3Server("moto")
    tmp = tempfile.mkdtemp(prefix="riptide-proof-")
    try:
        s3 = server.client()
        s3.create_bucket(Bucket="proof")
        data = os.urandom(args.mib << 20)
        s3.put_object(Bucket="proof", Key="crc/obj.bin", Body=data, ChecksumAlgorithm="CRC64NVME",
                      ChecksumCRC64NVME=crc64nvme(data))
        boto = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                                          aws_secret_access_key=server.secret_key, region_name="us-east-1",
                                          config=Config(request_checksum_calculation="when_required"))
        boto.put_object(Bucket="proof", Key="md5/obj.bin", Body=data)
        part = 16 << 20
        up = boto.create_multipart_upload(Bucket="proof", Key="parts/obj.bin")
        done = []
        for i in range(0, len(data), part):
            r = boto.upload_part(Bucket="proof", Key="parts/obj.bin", UploadId=up["UploadId"], PartNumber=len(done) + 1,
                                 Body=data[i:i + part])
            done.append({"PartNumber": len(done) + 1, "ETag": r["ETag"]})
        boto.complete_multipart_upload(Bucket="proof", Key="parts/obj.bin", UploadId=up["UploadId"],
                                       MultipartUpload={"Parts": done})
        print(f"{args.mib} MiB in 16 MiB ranges from moto on 127.0.0.1")
        print(f"{'binary':<28} {'proof':<10} {'wall s':>7} {'CPU s':>6} {'CPU s/GiB':>9} {'RSS MiB':>7}")
        for _ in range(args.rounds):
            for prefix in ("md5", "parts", "crc"):
                for binary in binaries:
                    dataset = os.path.join(tmp, prefix)
                    shutil.rmtree(dataset, ignore_errors=True)
                    wall, cpu, rss, proof = download(binary, server, "proof", prefix, dataset)
                    print(f"{binary[-28:]:<28} {proof:<10} {wall:7.2f} {cpu:6.2f} {cpu * 1024 / args.mib:9.2f} "
                          f"{rss:7.0f}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
