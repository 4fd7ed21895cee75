"""Temporary credentials that refresh: web identity through a real STS (moto's), and a
container credentials endpoint started here that hands out keys expiring in seconds,
during a run longer than that."""
import datetime
import http.server
import json
import os
import threading
import time
import unittest

from fault_proxy import FaultProxy, Rule
from support import SERVER, RefusedPort, ServerTestCase, riptide, tree


def serve(handler):
    """Starts `handler` on 127.0.0.1 at a port of the kernel's choosing; (server, port)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class ContainerEndpoint:
    """AWS_CONTAINER_CREDENTIALS_FULL_URI: keys ASIATEST1, ASIATEST2, … each valid for
    `lifetime` seconds, only for requests carrying the authorization token."""

    def __init__(self, token, lifetime):
        self.calls = 0
        self.refused = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with endpoint.lock:
                    if self.headers.get("Authorization") != token:
                        endpoint.refused += 1
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    endpoint.calls += 1
                    n = endpoint.calls
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
                body = json.dumps({"AccessKeyId": f"ASIATEST{n}", "SecretAccessKey": f"secret-{n}",
                                   "Token": f"session-{n}", "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.server, port = serve(Handler)
        self.url = f"http://127.0.0.1:{port}/v2/credentials/abc"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class InstanceMetadata:
    """An IMDSv2 look-alike: PUT /latest/api/token, then the role's name and its keys,
    each GET only with the session token."""

    def __init__(self):
        self.calls = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self):
                endpoint.calls.append(("PUT", self.path))
                if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400)
                self.reply(200, b"imds-session-token")

            def do_GET(self):
                endpoint.calls.append(("GET", self.path))
                if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                    return self.reply(401)
                base = "/latest/meta-data/iam/security-credentials/"
                if self.path == base:
                    return self.reply(200, b"riptide-role")
                if self.path == base + "riptide-role":
                    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
                    return self.reply(200, json.dumps({
                        "Code": "Success", "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "imds-secret",
                        "Token": "imds-token", "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode())
                self.reply(404)

        self.server, port = serve(Handler)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TemporaryCredentialsTest(ServerTestCase):
    def environment(self, **extra):
        """No long-lived keys anywhere: only what the test names."""
        home = os.path.join(self.tmp, "home")
        os.makedirs(home, exist_ok=True)
        return dict(PATH=os.environ.get("PATH", ""), HOME=home, **extra)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    @unittest.skipIf(SERVER == "s3rver", "s3rver accepts only its own key pair (S3RVER/S3RVER), not the keys "
                     "STS hands out, and has no STS; the exchange with moto's STS is shown on moto")
    def test_web_identity_through_sts(self):
        self.put({f"w/{i}.txt": f"object {i}".encode() for i in range(5)})
        env = self.environment(AWS_WEB_IDENTITY_TOKEN_FILE=self.write("token", "eyJhbGciOi.test.token\n"),
                               AWS_ROLE_ARN="arn:aws:iam::123456789012:role/riptide-test",
                               AWS_ENDPOINT_URL_STS=self.server.endpoint)
        p = riptide("sync", f"s3://{self.bucket}/w", self.dataset, "--endpoint", self.server.endpoint,
                    "--json", env=env, clean_env=True)
        # Without STS there would be no keys at all: "no credentials found", exit 2.
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(tree(self.dataset)), [f"{i}.txt" for i in range(5)])
        self.assertNotIn("eyJhbGciOi", p.stdout + p.stderr)

    @unittest.skipIf(SERVER == "s3rver", "s3rver accepts only its own key pair (S3RVER/S3RVER), not the "
                     "keys a credentials endpoint hands out; the fault proxy also needs unchecked signatures")
    def test_container_credentials_refresh_during_a_long_run(self):
        objects = {f"c/{i:03}.bin": os.urandom(2048) for i in range(80)}
        self.put(objects)
        token = "Bearer test-authorization-token"
        creds = ContainerEndpoint(token, lifetime=2)
        proxy = FaultProxy(self.server.port)
        # Every GET waits 80 ms and one runs at a time: the run lasts well over 4 lifetimes.
        proxy.add(Rule(lambda m, path, h: m == "GET" and "/c/" in path, "delay", times=10**6, seconds=0.08))
        try:
            env = self.environment(AWS_CONTAINER_CREDENTIALS_FULL_URI=creds.url,
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=self.write("auth", token + "\n"))
            started = time.time()
            p = riptide("sync", f"s3://{self.bucket}/c", self.dataset, "--endpoint", proxy.endpoint,
                        "--concurrency", "1", "--json", env=env, clean_env=True)
            elapsed = time.time() - started
        finally:
            proxy.stop()
            creds.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {k[2:]: v for k, v in objects.items()})
        self.assertGreater(elapsed, 4.0, "the run was too short to outlive the keys")
        self.assertGreaterEqual(creds.calls, 3, "the keys were not refreshed")
        self.assertEqual(creds.refused, 0)
        used = {e.access_key for e in proxy.log if e.access_key}
        self.assertGreaterEqual(len(used), 3, f"requests were signed with {sorted(used)}")
        self.assertTrue(used <= {f"ASIATEST{n}" for n in range(1, creds.calls + 1)}, used)
        self.assertNotIn("test-authorization-token", p.stdout + p.stderr)

    @unittest.skipIf(SERVER == "s3rver", "s3rver accepts only its own key pair (S3RVER/S3RVER), not the "
                     "keys the metadata service hands out")
    def test_instance_metadata_v2_when_asked_for(self):
        self.put({"m/one": b"1", "m/two": b"22"})
        imds = InstanceMetadata()
        proxy = FaultProxy(self.server.port)
        try:
            env = self.environment(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
            p = riptide("sync", f"s3://{self.bucket}/m", self.dataset, "--endpoint", proxy.endpoint,
                        env=env, clean_env=True, timeout=60)
        finally:
            proxy.stop()
            imds.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tree(self.dataset), {"one": b"1", "two": b"22"})
        self.assertEqual(imds.calls[0], ("PUT", "/latest/api/token"))
        self.assertEqual({e.access_key for e in proxy.log if e.access_key}, {"ASIAIMDS"})

    @unittest.skipIf(SERVER == "s3rver", "s3rver accepts only its own key pair (S3RVER/S3RVER), not the "
                     "keys a credentials endpoint hands out; the fault proxy also needs unchecked signatures")
    def test_expired_token_fetches_new_keys_and_retries_with_them(self):
        self.put({f"e/{i}": f"payload {i}".encode() for i in range(6)})
        token = "Bearer t"
        creds = ContainerEndpoint(token, lifetime=3600)  # no timed refresh during the run
        proxy = FaultProxy(self.server.port)
        proxy.add(Rule(lambda m, path, h: m == "GET" and path.endswith("/e/3"), "status", status=400,
                       code="ExpiredToken"))
        try:
            env = self.environment(AWS_CONTAINER_CREDENTIALS_FULL_URI=creds.url,
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN=token)
            p = riptide("sync", f"s3://{self.bucket}/e", self.dataset, "--endpoint", proxy.endpoint, "--json",
                        env=env, clean_env=True, timeout=60)
        finally:
            proxy.stop()
            creds.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["transferred"], 6)
        self.assertEqual(creds.calls, 2, "ExpiredToken did not fetch new keys")
        retried = [e.access_key for e in proxy.log if e.method == "GET" and e.path.endswith("/e/3")]
        self.assertEqual(retried, ["ASIATEST1", "ASIATEST2"])

    def test_an_unreachable_credentials_endpoint_is_one_line_exit_2(self):
        with RefusedPort() as port:
            env = self.environment(AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{port}/v2/credentials/x",
                                   AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer very-secret-token")
            p = riptide("sync", f"s3://{self.bucket}", self.dataset, "--endpoint", self.server.endpoint,
                        env=env, clean_env=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("container credentials endpoint", p.stderr)
        self.assertNotIn("very-secret-token", p.stderr + p.stdout)
        self.assertFalse(os.path.exists(self.dataset), "a failed start left a dataset behind")


if __name__ == "__main__":
    unittest.main()
