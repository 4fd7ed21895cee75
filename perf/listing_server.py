"""A ListObjectsV2 endpoint with headroom, for listing benchmarks only: it answers from a
sorted list of generated keys in memory (bisect, no disk), so a page costs it a few
milliseconds where s3rver spends ~90 ms walking its store. Behind perf/delay_proxy.py it
stands in for a far region's S3, whose servers are not the bottleneck; correctness is
tested against moto and s3rver, never against this. Signatures are not checked.

Answers GET /BUCKET?list-type=2 with prefix, delimiter, start-after, continuation-token,
max-keys and encoding-type=url; anything else is 501."""
import bisect
import http.server
import urllib.parse

from processes import serve_http

ETAG = '"0123456789abcdef0123456789abcdef"'
STAMP = "2026-11-29T00:00:00.000Z"


class ListingServer:
    def __init__(self, bucket, keys):
        self.bucket, self.keys = bucket, sorted(keys)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
                if url.path.strip("/") != server.bucket or q.get("list-type") != "2":
                    return self.answer(501, b"<Error><Code>NotImplemented</Code></Error>")
                self.answer(200, server.page(q).encode())

            def answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server, self.port, self.endpoint, _ = serve_http(Handler)

    def page(self, q):
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        after = q.get("continuation-token") or q.get("start-after", "")
        limit = int(q.get("max-keys", "1000"))
        i = bisect.bisect_right(self.keys, after)
        i = max(i, bisect.bisect_left(self.keys, prefix))
        contents, prefixes, last = [], [], None
        while i < len(self.keys) and len(contents) + len(prefixes) < limit:
            key = self.keys[i]
            if not key.startswith(prefix):
                break
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                folder = key[:cut + len(delimiter)]
                prefixes.append(folder)
                last = folder
                i = bisect.bisect_left(self.keys, folder + "\U0010ffff")
                continue
            contents.append(key)
            last = key
            i += 1
        truncated = i < len(self.keys) and self.keys[i].startswith(prefix)
        quote = urllib.parse.quote
        body = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>',
                f"<Name>{self.bucket}</Name><Prefix>{quote(prefix)}</Prefix><EncodingType>url</EncodingType>",
                f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{limit}</MaxKeys>",
                f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
        if truncated:
            body.append(f"<NextContinuationToken>{quote(last)}</NextContinuationToken>")
        body.extend(f"<Contents><Key>{quote(k)}</Key><LastModified>{STAMP}</LastModified><ETag>{ETAG}</ETag>"
                    f"<Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>" for k in contents)
        body.extend(f"<CommonPrefixes><Prefix>{quote(p)}</Prefix></CommonPrefixes>" for p in prefixes)
        body.append("</ListBucketResult>")
        return "".join(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
