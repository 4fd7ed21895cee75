#!/usr/bin/env python3
"""Creates the quickstart's sample bucket: ~400 objects (about 40 MiB) in nested
prefixes, with the awkward names real buckets have.
    seed_sample.py ENDPOINT BUCKET            create and fill it
    seed_sample.py ENDPOINT BUCKET --change   change one object, add one, delete one"""
import random
import sys

import boto3
from botocore.config import Config

endpoint, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                  config=Config(s3={"addressing_style": "path"}))
if sys.argv[3:] == ["--change"]:
    s3.put_object(Bucket=bucket, Key="datasets/train/shard-00/image-006.bin", Body=b"edited " * 1000)
    s3.put_object(Bucket=bucket, Key="datasets/val/new-sample.bin", Body=random.Random(2).randbytes(300_000))
    s3.delete_object(Bucket=bucket, Key="datasets/test/shard-03/notes é-002.bin")
    print("changed datasets/train/shard-00/image-006.bin, added datasets/val/new-sample.bin, "
          "deleted datasets/test/shard-03/notes é-002.bin")
    sys.exit(0)
s3.create_bucket(Bucket=bucket)
rng = random.Random(1)
names = ["image", "label map", "notes é", "part+1", "rate=5%", "a&b"]
count = 0
for split in ("train", "val", "test"):
    for shard in range(4):
        for i in range(32):
            size = 0 if i == 0 else int(rng.lognormvariate(10, 1.5)) % (2 << 20)
            key = f"datasets/{split}/shard-{shard:02d}/{names[i % len(names)]}-{i:03d}.bin"
            s3.put_object(Bucket=bucket, Key=key, Body=rng.randbytes(size))
            count += 1
for i in range(2):
    s3.put_object(Bucket=bucket, Key=f"datasets/models/checkpoint-{i}.pt", Body=rng.randbytes(12 << 20))
    count += 1
print(f"seeded s3://{bucket} with {count} objects")
