"""Durability, observed: riptide runs under strace, which records its renames, syncs and
writes (with the bytes written), and the order is checked. A download's manifest never
names a file before a syncfs that began after the file's rename; the part journal
records a part of an object only after an fdatasync of the object's temp file; an upload
journals the id of its multipart upload before it sends a part of it; the service
accepts object events with a 202 only after the notices are in service.db and synced."""
import os
import signal
import unittest
import urllib.request

from strace_log import STRACE, command, parse, traced_riptide, untraceable_leak_check
from support import ServerTestCase
from test_events import s3_records
from serve_support import Service

MiB = 1 << 20
PART = 512 * 1024
SYSCALLS = ["rename", "renameat", "renameat2", "syncfs", "fsync", "fdatasync", "pwrite64", "write", "sendto"]


def is_state_write(call, db):
    return call.name in ("pwrite64", "write") and f"/.riptide/{db}" in call.path or (
        call.name in ("pwrite64", "write") and call.path.endswith(f"/{db}-wal"))


@unittest.skipUnless(STRACE, "strace is not installed (scripts/setup.sh --test-tools installs it) or may not "
                             "trace on this machine (no CAP_SYS_PTRACE)")
class DurabilityTest(ServerTestCase):
    def traced(self, *args):
        return traced_riptide(self, SYSCALLS, args)

    def test_a_download_is_synced_before_the_manifest_names_it_and_parts_before_the_journal(self):
        small = {f"d/obj-{i:03d}-durable.bin": os.urandom(1000 + i) for i in range(24)}
        big_key, big = "d/big-durable.bin", os.urandom(3 * MiB + 5)
        self.put({**small, big_key: big})
        calls = self.traced("sync", f"s3://{self.bucket}/d", self.dataset, "--part-size", str(PART))
        syncs = [c for c in calls if c.name == "syncfs"]
        manifest = [c for c in calls if is_state_write(c, "manifest.db")]
        for key in small:
            name = key.split("/")[1]
            renames = [c for c in calls if c.name.startswith("rename") and f'"{name}"' in c.args]
            self.assertEqual(len(renames), 1, f"{name}: {renames}")
            named = next((w for w in manifest if w.wrote(name.encode())), None)
            self.assertIsNotNone(named, f"the manifest never named {name}")
            covering = [s for s in syncs if renames[0].end < s.start and s.end < named.start]
            self.assertTrue(covering, f"the manifest named {name} before a sync covered its rename")

        # The part journal: on its thread, each record of a part of the big object follows
        # an fdatasync of the file holding the part (its temp file, or the final name when
        # the journal's queue runs behind the object's rename).
        temp_syncs = [c for c in calls if c.name == "fdatasync" and (
            ".riptide-tmp-" in c.path or c.path.endswith("/big-durable.bin"))]
        records = 0
        for tid in {c.tid for c in manifest if c.wrote(big_key.encode())}:
            synced = False
            for c in calls:
                if c.tid != tid:
                    continue
                if c in temp_syncs:
                    synced = True
                elif c in manifest and c.wrote(big_key.encode()) and synced:
                    records += 1
                    synced = False
        parts = -(-len(big) // PART)
        self.assertGreaterEqual(records, parts, f"{records} of {parts} part records followed a sync of their data")

    def test_an_upload_journals_its_upload_id_before_it_sends_a_part(self):
        root = os.path.join(self.tmp, "up")
        os.makedirs(root)
        with open(os.path.join(root, "big"), "wb") as f:
            f.write(os.urandom(11 * MiB))
        calls = self.traced("sync", root, f"s3://{self.bucket}/up", "--part-size", "5M")
        journal = [c for c in calls if c.name == "write" and "uploads" in c.path and c.wrote(b'"open"')]
        self.assertTrue(journal, "no upload was journalled")
        for entry in journal:
            upload_id = entry.strings()[0].split(b'"open":"')[1].split(b'"')[0]
            parts = [c for c in calls if c.name in ("sendto", "write") and c.wrote(b"uploadId=" + upload_id)
                     and c.wrote(b"partNumber=")]
            self.assertTrue(parts, "no part of the journalled upload was sent")
            self.assertLess(entry.end, min(c.start for c in parts), "a part went out before its upload was journalled")

    def test_events_are_synced_into_service_db_before_the_202(self):
        self.put({"incoming/durable-event.bin": b"x" * 100})
        trace = os.path.join(self.tmp, "trace")
        state = os.path.join(self.tmp, "state")
        svc = Service(self, f"state_dir: {state}\njobs:\n  - name: incoming\n"
                            f"    source: s3://{self.bucket}/incoming/\n    destination: {self.dataset}\n"
                            f"    endpoint: {self.server.endpoint}\n    on_event: true\n",
                      wrapper=command(trace, SYSCALLS), env={"ASAN_OPTIONS": untraceable_leak_check()})
        body = s3_records(self.bucket, "incoming/durable-event.bin")
        req = urllib.request.Request(svc.url + "/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 202)
        # SIGTERM to riptide itself (strace would detach and leave it running); strace exits with it.
        with open(f"/proc/{svc.proc.pid}/task/{svc.proc.pid}/children") as f:
            os.kill(int(f.read().split()[0]), signal.SIGTERM)
        svc.proc.wait(30)
        calls = parse(trace)
        stored = [c for c in calls if is_state_write(c, "service.db") and c.wrote(b"durable-event.bin")]
        self.assertTrue(stored, "the notice never reached service.db")
        synced = [c for c in calls if c.name in ("fsync", "fdatasync") and "service.db" in c.path
                  and c.start > stored[0].end]
        answer = [c for c in calls if c.name in ("sendto", "write") and c.wrote(b"HTTP/1.1 202")]
        self.assertTrue(answer, "no 202 was sent")
        self.assertTrue(synced and synced[0].end < answer[0].start, "the 202 went out before the notice was synced")
