"""Object events through `riptide serve` against a real S3 server: each notification
format (S3 Records[], IBM COS via Code Engine, CloudEvents binary and structured, plain)
transfers exactly the objects it names; duplicates transfer once; unmatched and
malformed deliveries; move deletes only verified sources; removals; the sweep; kill -9
with events accepted but not processed; the files table; the history page in Chromium."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from fault_proxy import FaultProxy, Rule
from support import SERVER, ServerTestCase, crc64nvme
from serve_support import Service, http, kill_services

KEYS = ["incoming/plain.txt", "incoming/with space.txt", "incoming/a+b.txt", "incoming/ünï/cödé.txt",
        "incoming/deep/x.bin"]


def s3_records(bucket, key, etag="", removed=False, sequencer="0055AED6DCD90281E5"):
    """What AWS S3 (and MinIO, Ceph) POST: keys URL-encoded, spaces as '+'."""
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-29T12:00:00.000Z",
        "eventName": "ObjectRemoved:Delete" if removed else "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "riptide",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 5, "eTag": etag,
                          "sequencer": sequencer}}}]})


def cos_body(bucket, key, etag="", removed=False):
    """An IBM COS notification as Code Engine delivers it (binary CloudEvent headers)."""
    op = "Object:Delete" if removed else "Object:Write"
    body = {"bucket": bucket, "endpoint": "", "key": key, "operation": op,
            "notification": {"bucket_name": bucket, "content_type": "text/plain", "event_type": op,
                             "format": "2.0", "object_etag": etag, "object_length": "5", "object_name": key,
                             "request_id": "1c7249c8-0eca-4cfc-8392-ac7d416bc257",
                             "request_time": "2026-11-29T12:00:00.000Z"}}
    headers = {"Ce-Id": "1c7249c8-" + key.encode().hex()[:12], "Ce-Specversion": "1.0",
               "Ce-Source": f"https://cloud.ibm.com/catalog/services/cloud-object-storage/{bucket}",
               "Ce-Subject": key, "Ce-Type": "com.ibm.cloud.cos.document." + ("delete" if removed else "write"),
               "Content-Type": "application/json"}
    return json.dumps(body), headers


def structured(bucket, key):
    return json.dumps({"specversion": "1.0", "id": "ev-" + key, "type": "com.ibm.cloud.cos.document.write",
                       "source": f"https://cloud.ibm.com/catalog/services/cloud-object-storage/{bucket}",
                       "subject": key, "datacontenttype": "application/json",
                       "data": {"bucket": bucket, "key": key, "operation": "Object:Write"}})


def post(svc, body, headers=None):
    req = urllib.request.Request(svc.url + "/events", data=body.encode(), method="POST")
    for k, v in (headers or {"Content-Type": "application/json"}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class EventsTestCase(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.dst = self.bucket + "-dst"
        self.s3.create_bucket(Bucket=self.dst)
        self.state = os.path.join(self.tmp, "state")
        self.services = []
        self.bodies = {k: os.urandom(100 + i) for i, k in enumerate(KEYS)}
        self.put(self.bodies)

    def tearDown(self):
        kill_services(self.services)
        super().tearDown()

    def start(self, job_extra="", destination=None, endpoint=None):
        text = (f"state_dir: {self.state}\n"
                f"jobs:\n"
                f"  - name: incoming\n"
                f"    source: s3://{self.bucket}/incoming/\n"
                f"    destination: {destination or f's3://{self.dst}/processed/'}\n"
                f"    endpoint: {endpoint or self.server.endpoint}\n"
                f"    on_event: true\n"
                # s3rver reads x-amz-copy-source like a form ('+' and '=' go wrong), so
                # its server-side copies of such keys fail: copies stream there.
                f"{'    copy_mode: streamed' + chr(10) if SERVER == 's3rver' else ''}"
                f"{job_extra}")
        svc = Service(self, text)
        self.services.append(svc)
        return svc

    def etag(self, key):
        return self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')

    def dst_keys(self):
        out = self.s3.list_objects_v2(Bucket=self.dst).get("Contents", [])
        return sorted(o["Key"] for o in out)

    def src_keys(self):
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", []))

    def settle(self, svc, timeout=60):
        """Waits until no event is pending; the counters."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, stats = svc.get("/events/stats")
            self.assertEqual(status, 200, stats)
            c = stats["object_events"]
            if c["pending"] == 0:
                _, jobs = svc.get("/jobs")
                if all(j["state"] == "idle" for j in jobs["jobs"]):
                    return c
            time.sleep(0.05)
        raise AssertionError(f"events still pending after {timeout} s: {svc.get('/events/stats')}")

    def files(self, svc):
        req = urllib.request.Request(svc.url + "/files?job=incoming", headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return {f["key"]: f for f in json.loads(r.read())["files"]}


class FormatsTest(EventsTestCase):
    def test_each_format_transfers_exactly_the_named_objects(self):
        svc = self.start()
        k = KEYS
        self.assertEqual(post(svc, s3_records(self.bucket, k[1], self.etag(k[1])))[0], 202)
        self.assertEqual(post(svc, s3_records(self.bucket, k[2], self.etag(k[2])))[0], 202)
        body, headers = cos_body(self.bucket, k[3], self.etag(k[3]))
        status, receipt = post(svc, body, headers)
        self.assertEqual((status, receipt["matched"]), (202, 1), receipt)
        status, receipt = post(svc, structured(self.bucket, k[0]),
                               {"Content-Type": "application/cloudevents+json"})
        self.assertEqual((status, receipt["matched"]), (202, 1), receipt)
        c = self.settle(svc)
        # Exactly the four named objects, with their bytes; the fifth was never named.
        expected = sorted("processed/" + key[len("incoming/"):] for key in k[:4])
        self.assertEqual(self.dst_keys(), expected)
        for key in k[:4]:
            got = self.s3.get_object(Bucket=self.dst, Key="processed/" + key[len("incoming/"):])["Body"].read()
            self.assertEqual(got, self.bodies[key])
        self.assertEqual((c["received"], c["succeeded"], c["failed"], c["duplicate"]), (4, 4, 0, 0))

        # A redelivery of the same event (same ETag and sequencer) transfers nothing more.
        before = svc.get("/jobs/incoming")[1]["last_run"]["id"]
        status, receipt = post(svc, s3_records(self.bucket, k[1], self.etag(k[1])))
        self.assertEqual((status, receipt["duplicate"], receipt["accepted"]), (202, 1, 0))
        c = self.settle(svc)
        self.assertEqual((c["received"], c["duplicate"], c["succeeded"]), (5, 1, 4))
        self.assertEqual(svc.get("/jobs/incoming")[1]["last_run"]["id"], before)

        # Unmatched: another bucket, or outside the prefix.
        status, receipt = post(svc, json.dumps({"bucket": "elsewhere", "key": "incoming/x"}))
        self.assertEqual((status, receipt["matched"], receipt["unmatched"]), (202, 0, 1))
        status, receipt = post(svc, json.dumps({"bucket": self.bucket, "key": "other/x"}))
        self.assertEqual((status, receipt["matched"]), (202, 0))
        # Malformed: a clear 400, nothing stored.
        for bad in ["not json", json.dumps({"hello": 1}), json.dumps({"Records": [{"eventName": "ObjectCreated:Put",
                                                                                   "s3": {}}]})]:
            status, err = post(svc, bad)
            self.assertEqual(status, 400, err)
            self.assertTrue(err["error"], err)
        c = self.settle(svc)
        self.assertEqual((c["received"], c["unmatched"]), (7, 2))

        # A plain event for a key that is not there: gone, not a failure.
        post(svc, json.dumps({"bucket": self.bucket, "key": "incoming/never.txt"}))
        c = self.settle(svc)
        self.assertEqual((c["gone"], c["failed"]), (1, 0))
        self.assertEqual(svc.stop(), 0)

    def test_history_page_in_headless_chromium(self):
        chromium = shutil.which("chromium")
        if not chromium:
            self.fail("chromium is missing: scripts/setup.sh --test-tools installs Debian's chromium package")
        svc = self.start()
        hostile = "incoming/<img src=x onerror=alert(1)>.txt"
        self.put({hostile: b"evil"})
        post(svc, s3_records(self.bucket, KEYS[0], self.etag(KEYS[0])))
        post(svc, json.dumps({"bucket": self.bucket, "key": hostile}))
        post(svc, json.dumps({"bucket": "elsewhere", "key": "x"}))
        self.settle(svc)
        profile = os.path.join(self.tmp, "chromium")
        p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={profile}", "--dump-dom", svc.url + "/events/history"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout
        self.assertEqual(dom.count('class="event"'), 3)
        self.assertLess(dom.index('id="event-3"'), dom.index('id="event-1"'))  # newest first
        self.assertIn("matched no job", dom)
        self.assertEqual(dom.count('<li class="done">incoming: done'), 2)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", dom)
        self.assertNotIn("<img", dom)
        p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={profile}", "--dump-dom", svc.url + "/files?job=incoming"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.stdout.count('class="file"'), 2)
        self.assertEqual(svc.stop(), 0)


class MoveTest(EventsTestCase):
    def test_move_deletes_only_verified_sources_and_the_files_table_follows(self):
        svc = self.start("    move: true\n")
        for key in KEYS[:2]:
            post(svc, s3_records(self.bucket, key, self.etag(key)))
        c = self.settle(svc)
        self.assertEqual(c["succeeded"], 2, c)
        self.assertEqual(self.src_keys(), sorted(KEYS[2:]))
        self.assertEqual(self.dst_keys(), sorted("processed/" + k[len("incoming/"):] for k in KEYS[:2]))
        files = self.files(svc)
        for key in KEYS[:2]:
            self.assertEqual((files[key]["source"]["present"], files[key]["destination"]["present"]), (False, True))
            self.assertEqual(files[key]["destination"]["size"], len(self.bodies[key]))

        # The sweep moves what is left (what an earlier event failed to move).
        status, body = svc.post("/jobs/incoming/run")
        self.assertEqual(status, 202, body)
        run = svc.wait_run(body["run_id"])
        self.assertEqual((run["state"], run["transferred"]), ("ok", 3), run)
        self.assertEqual(self.src_keys(), [])
        self.assertEqual(len(self.dst_keys()), 5)
        files = self.files(svc)
        self.assertEqual(sorted(files), sorted(KEYS))
        self.assertTrue(all(f["source"]["present"] is False and f["destination"]["present"] for f in files.values()))
        self.assertEqual(svc.stop(), 0)

    def test_a_source_replaced_after_its_event_is_copied_as_it_is_now(self):
        """The object under the key changed after the event: the copy is of the new one,
        and the move deletes the object that was copied (the unit test SourceMovesTest
        covers a source replaced between the copy and the delete)."""
        svc = self.start("    move: true\n")
        old = self.etag(KEYS[0])
        self.put({KEYS[0]: b"newer bytes"})
        post(svc, s3_records(self.bucket, KEYS[0], old))
        self.settle(svc)
        # The copy carries the newer bytes and the source went only once they were proven.
        got = self.s3.get_object(Bucket=self.dst, Key="processed/plain.txt")["Body"].read()
        self.assertEqual(got, b"newer bytes")
        self.assertNotIn(KEYS[0], self.src_keys())
        self.assertEqual(svc.stop(), 0)


class RemovalTest(EventsTestCase):
    def test_removed_event_deletes_the_destination_copy_with_delete(self):
        svc = self.start("    delete: true\n")
        post(svc, s3_records(self.bucket, KEYS[0], self.etag(KEYS[0])))
        post(svc, s3_records(self.bucket, KEYS[1], self.etag(KEYS[1]), sequencer="01"))
        self.settle(svc)
        self.assertEqual(len(self.dst_keys()), 2)
        self.s3.delete_object(Bucket=self.bucket, Key=KEYS[0])
        post(svc, s3_records(self.bucket, KEYS[0], removed=True, sequencer="02"))
        # A removal of a key the source has again keeps the copy.
        post(svc, s3_records(self.bucket, KEYS[1], removed=True, sequencer="03"))
        c = self.settle(svc)
        self.assertEqual(self.dst_keys(), ["processed/with space.txt"])
        self.assertEqual(c["kept"], 1, c)
        files = self.files(svc)
        self.assertEqual(files[KEYS[0]]["destination"]["present"], False)
        self.assertEqual(svc.stop(), 0)


class ProcessTest(EventsTestCase):
    def test_bytes_pass_through_the_command_into_a_bucket_and_a_directory(self):
        import gzip
        big = os.urandom(11 << 20)  # more than two parts: streamed as a multipart upload
        self.put({"incoming/big.bin": big})
        svc = self.start("    move: true\n    process: gzip -c -1\n    process_suffix: .gz\n    part_size: 5M\n")
        for key in (KEYS[1], "incoming/big.bin"):
            post(svc, s3_records(self.bucket, key, self.etag(key)))
        c = self.settle(svc)
        self.assertEqual((c["succeeded"], c["failed"]), (2, 0), c)
        self.assertEqual(self.dst_keys(), ["processed/big.bin.gz", "processed/with space.txt.gz"])
        got = self.s3.get_object(Bucket=self.dst, Key="processed/big.bin.gz")["Body"].read()
        self.assertEqual(gzip.decompress(got), big)
        got = self.s3.get_object(Bucket=self.dst, Key="processed/with space.txt.gz")["Body"].read()
        self.assertEqual(gzip.decompress(got), self.bodies[KEYS[1]])
        if SERVER == "moto":  # s3rver keeps no checksums
            # Outputs carry a CRC64NVME: the single PUT its value, which moto keeps; the
            # multipart one is created for a FULL_OBJECT CRC64NVME.
            head = self.s3.head_object(Bucket=self.dst, Key="processed/with space.txt.gz", ChecksumMode="ENABLED")
            self.assertEqual(head.get("ChecksumCRC64NVME"), crc64nvme(got))
            head = self.s3.head_object(Bucket=self.dst, Key="processed/big.bin.gz", ChecksumMode="ENABLED")
            self.assertEqual(head.get("ChecksumType"), "FULL_OBJECT")
            self.assertIn("ChecksumCRC64NVME", head)
        self.assertNotIn("incoming/big.bin", self.src_keys())  # moved once written
        self.assertEqual(svc.stop(), 0)

        # Into a directory: the file appears whole, under the suffix.
        data = os.path.join(self.tmp, "out")
        svc = self.start("    process: [tr, a-z, A-Z]\n    process_suffix: .upper\n", destination=data)
        self.put({"incoming/low.txt": b"lower case"})
        post(svc, json.dumps({"bucket": self.bucket, "key": "incoming/low.txt"}))
        self.settle(svc)
        with open(os.path.join(data, "low.txt.upper"), "rb") as f:
            self.assertEqual(f.read(), b"LOWER CASE")
        self.assertEqual([n for n in os.listdir(data) if n.startswith(".riptide-process")], [])
        self.assertEqual(svc.stop(), 0)

    def test_a_destination_that_refuses_checksums_gets_the_outputs_without_them(self):
        import gzip
        big = os.urandom(11 << 20)
        self.put({"incoming/big.bin": big})
        proxy = FaultProxy(self.server.port)
        self.addCleanup(proxy.stop)
        # What a server without CRC64NVME answers to a request that carries one (asking
        # for the source's checksums with x-amz-checksum-mode is no such request).
        proxy.add(Rule(lambda m, path, h: any(k.lower().startswith(("x-amz-checksum", "x-amz-sdk-checksum"))
                                              and k.lower() != "x-amz-checksum-mode" for k in h),
                       "status", times=10_000, status=400, code="InvalidRequest",
                       message="The checksum algorithm CRC64NVME is not supported"))
        svc = self.start("    process: gzip -c -1\n    process_suffix: .gz\n    part_size: 5M\n",
                         endpoint=proxy.endpoint)
        for key in (KEYS[1], "incoming/big.bin"):
            post(svc, s3_records(self.bucket, key, self.etag(key)))
        c = self.settle(svc)
        self.assertEqual((c["succeeded"], c["failed"]), (2, 0), c)
        got = self.s3.get_object(Bucket=self.dst, Key="processed/big.bin.gz")["Body"].read()
        self.assertEqual(gzip.decompress(got), big)
        got = self.s3.get_object(Bucket=self.dst, Key="processed/with space.txt.gz")["Body"].read()
        self.assertEqual(gzip.decompress(got), self.bodies[KEYS[1]])
        # The single PUT and the CreateMultipartUpload, each refused once and sent again
        # without; no part and no Complete carries a checksum after that.
        refused = [(e.method, "uploads" in e.path) for e in proxy.log if e.status == 400]
        self.assertEqual(sorted(refused), [("POST", True), ("PUT", False)])
        self.assertEqual(svc.stop(), 0)

    def test_a_failing_or_slow_command_leaves_source_and_destination_untouched(self):
        svc = self.start("    move: true\n    process: \"cat; exit 3\"\n    process_shell: true\n"
                         "    part_size: 5M\n")
        self.put({"incoming/big.bin": os.urandom(6 << 20)})  # a part is sent before the command fails
        for key in (KEYS[0], "incoming/big.bin"):
            post(svc, s3_records(self.bucket, key, self.etag(key)))
        c = self.settle(svc)
        self.assertEqual((c["succeeded"], c["failed"]), (0, 2), c)
        self.assertEqual(self.dst_keys(), [])
        self.assertIn(KEYS[0], self.src_keys())
        self.assertIn("incoming/big.bin", self.src_keys())
        if SERVER == "moto":  # s3rver keeps no list of multipart uploads
            self.assertEqual(self.s3.list_multipart_uploads(Bucket=self.dst).get("Uploads", []), [])
        events = svc.get("/events/history")[1]
        self.assertIn("the command exited with 3", events)
        self.assertEqual(svc.stop(), 0)

        svc = self.start("    process: sleep 30\n    process_timeout: 1s\n")
        post(svc, s3_records(self.bucket, KEYS[2], self.etag(KEYS[2])))
        c = self.settle(svc)
        self.assertEqual(c["failed"], 3, c)
        self.assertIn("timed out after 1 s", svc.get("/events/history")[1])
        self.assertEqual(self.dst_keys(), [])
        self.assertEqual(svc.stop(), 0)

    def test_the_command_gets_a_clean_environment(self):
        svc = self.start("    process: env\n")
        post(svc, s3_records(self.bucket, KEYS[0], self.etag(KEYS[0])))
        self.settle(svc)
        env = self.s3.get_object(Bucket=self.dst, Key="processed/plain.txt")["Body"].read().decode()
        self.assertIn(f"RIPTIDE_KEY={KEYS[0]}", env)
        self.assertNotIn("AWS_", env)
        self.assertNotIn(self.server.secret_key, env)
        self.assertEqual(svc.stop(), 0)


class RestartTest(EventsTestCase):
    def test_kill9_with_events_accepted_then_restart_transfers_each_once(self):
        many = {f"incoming/many/{i:04d}.txt": f"object {i}".encode() for i in range(400)}
        self.put(many)
        svc = self.start()
        records = {"Records": []}
        for key in many:
            records["Records"] += json.loads(s3_records(self.bucket, key, self.etag(key)))["Records"]
        status, receipt = post(svc, json.dumps(records))
        self.assertEqual(status, 202, receipt)
        self.assertEqual((receipt["accepted"], receipt["matched"]), (400, 400), receipt)
        svc.proc.send_signal(signal.SIGKILL)
        svc.proc.wait()
        svc.log.close()
        svc = self.start()
        c = self.settle(svc, timeout=120)
        self.assertEqual((c["received"], c["succeeded"], c["failed"], c["pending"]), (400, 400, 0, 0), c)
        got = [k for k in self.dst_keys() if k.startswith("processed/many/")]
        self.assertEqual(len(got), 400)
        self.assertEqual(svc.stop(), 0)


if __name__ == "__main__":
    unittest.main()
