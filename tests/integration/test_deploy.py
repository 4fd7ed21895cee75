"""The deployment files in deploy/ say what riptide accepts: every manifest parses, and
the commands, environment, paths and probes they use are run here, against a real S3
server, the way the container would run them."""
import configparser
import json
import os
import re
import shlex
import signal
import subprocess
import time
import unittest

import yaml

from support import BIN, ROOT, ServerTestCase, bound_port, tree
from serve_support import http

DEPLOY = os.path.join(ROOT, "deploy")
# In debian:12-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def manifests():
    """{(kind, name): document} of every Kubernetes manifest."""
    docs = {}
    folder = os.path.join(DEPLOY, "kubernetes")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def pod_spec(doc):
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


class DeployTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.docs = manifests()
        secret = self.docs[("Secret", "riptide-credentials")]["stringData"]
        # The example secret, filled with this server's keys and a test token.
        self.secret = dict(secret, AWS_ACCESS_KEY_ID=self.server.access_key,
                           AWS_SECRET_ACCESS_KEY=self.server.secret_key, RIPTIDE_TOKEN="t" * 40)
        self.s3.create_bucket(Bucket="datasets")
        self.objects = {"raw/a.csv": b"a,b\n1,2\n", "raw/sub/b.parquet": os.urandom(50000)}
        for key, body in self.objects.items():
            self.s3.put_object(Bucket="datasets", Key=key, Body=body)
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.data)

    def tearDown(self):
        for obj in self.s3.list_objects_v2(Bucket="datasets").get("Contents", []):
            self.s3.delete_object(Bucket="datasets", Key=obj["Key"])
        self.s3.delete_bucket(Bucket="datasets")
        super().tearDown()

    def local(self, text):
        """Container paths mapped into this test's directory."""
        text = re.sub(r"(?<![\w/])/var/lib/riptide(?=/|\s|$)", os.path.join(self.tmp, "state"), text, flags=re.M)
        return re.sub(r"(?<![\w/])/data(?=/|\s|$)", self.data, text, flags=re.M)

    def container_env(self, container):
        env = {"PATH": os.environ["PATH"], "HOME": self.tmp}
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                self.assertEqual(ref["name"], "riptide-credentials")
                env[var["name"]] = self.secret[ref["key"]]
        if "AWS_ENDPOINT_URL" in env:
            env["AWS_ENDPOINT_URL"] = self.server.endpoint  # the one thing a cluster sets otherwise
        return env

    def test_every_manifest_parses_and_agrees_with_the_others(self):
        kinds = sorted(self.docs)
        self.assertIn(("Deployment", "riptide"), kinds)
        self.assertIn(("Service", "riptide"), kinds)
        self.assertIn(("CronJob", "riptide-trigger-datasets"), kinds)
        self.assertIn(("CronJob", "riptide-sync-datasets"), kinds)
        deployment = self.docs[("Deployment", "riptide")]
        spec = pod_spec(deployment)
        [container] = spec["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(set(mounts), set(volumes))
        self.assertEqual(volumes["config"]["configMap"]["name"], "riptide-config")
        config_path = container["args"][container["args"].index("--config") + 1]
        self.assertEqual(os.path.dirname(config_path), mounts["config"])
        self.assertIn(os.path.basename(config_path), self.docs[("ConfigMap", "riptide-config")]["data"])
        for claim in (v["persistentVolumeClaim"]["claimName"] for v in volumes.values() if "persistentVolumeClaim" in v):
            self.assertIn(("PersistentVolumeClaim", claim), kinds)
        self.assertEqual(deployment["spec"]["replicas"], 1)  # one process per state database
        service = self.docs[("Service", "riptide")]
        self.assertEqual(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
        trigger = pod_spec(self.docs[("CronJob", "riptide-trigger-datasets")])["containers"][0]
        url = trigger["args"][-1]
        self.assertTrue(url.startswith(f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/"))
        # The Dockerfile's default command reads the config where the Deployment mounts it.
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            dockerfile = f.read()
        self.assertIn(f'CMD ["serve", "--config", "{config_path}"]', dockerfile)

    def test_the_sync_cronjob_mirrors_here(self):
        [container] = pod_spec(self.docs[("CronJob", "riptide-sync-datasets")])["containers"]
        self.assertEqual(container["command"], ["/usr/local/bin/riptide"])
        args = [self.local(a) for a in container["args"]]
        p = subprocess.run([BIN, *args], env=self.container_env(container), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["transferred"], 2)
        self.assertEqual(tree(os.path.join(self.data, "datasets")),
                         {"a.csv": self.objects["raw/a.csv"], "sub/b.parquet": self.objects["raw/sub/b.parquet"]})
        self.assertNotIn(self.server.secret_key, p.stdout + p.stderr)

    def test_the_indexed_job_fills_one_dataset_shard_by_shard_here(self):
        for i in range(20):
            self.s3.put_object(Bucket="datasets", Key=f"raw/many/{i:02d}.txt", Body=f"object {i}".encode())
        [plan] = pod_spec(self.docs[("Job", "riptide-shard-plan")])["containers"]
        p = subprocess.run([BIN, *[self.local(a) for a in plan["args"]]], env=self.container_env(plan),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        job = self.docs[("Job", "riptide-sync-shards")]
        self.assertEqual(job["spec"]["completionMode"], "Indexed")
        count = job["spec"]["completions"]
        self.assertEqual(str(count), plan["args"][plan["args"].index("--shards") + 1])
        [shard] = pod_spec(job)["containers"]
        args = [self.local(a) for a in shard["args"]]
        # Each pod as Kubernetes starts it: its index in JOB_COMPLETION_INDEX, all at once.
        pods = [subprocess.Popen([BIN, *args], env=dict(self.container_env(shard), JOB_COMPLETION_INDEX=str(i)),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(count)]
        for pod in pods:
            _, err = pod.communicate(timeout=120)
            self.assertEqual(pod.returncode, 0, err)
        got = tree(os.path.join(self.data, "datasets"))
        self.assertEqual(len(got), 22)
        self.assertEqual(got["many/07.txt"], b"object 7")
        self.assertEqual(sorted(os.listdir(os.path.join(self.data, "datasets", ".riptide", "shards"))),
                         sorted(f"{i}-of-{count}" for i in range(count)))

    def test_the_service_deployment_and_its_trigger_cronjob_work_here(self):
        [container] = pod_spec(self.docs[("Deployment", "riptide")])["containers"]
        config = self.local(self.docs[("ConfigMap", "riptide-config")]["data"]["serve.yaml"])
        self.assertIn("0.0.0.0:8080", config)
        config = config.replace("0.0.0.0:8080", "0.0.0.0:0")
        config_path = os.path.join(self.tmp, "serve.yaml")
        with open(config_path, "w") as f:
            f.write(config)
        args = [config_path if a == "/etc/riptide/serve.yaml" else a for a in container["args"]]
        env = self.container_env(container)
        log = open(os.path.join(self.tmp, "serve.log"), "wb")
        proc = subprocess.Popen([BIN, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            port = bound_port(proc, log.name, r"listening on http://\S+:(\d+) with", "riptide serve", 30)
            base = f"http://127.0.0.1:{port}"
            live = container["livenessProbe"]["httpGet"]["path"]
            ready = container["readinessProbe"]["httpGet"]["path"]
            deadline = time.time() + 30
            while True:
                try:
                    if http("GET", base + live, timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                self.assertLess(time.time(), deadline, "the liveness probe never passed")
                time.sleep(0.05)
            status, body = http("GET", base + ready)
            self.assertEqual(status, 200, body)
            # The startup run, then the trigger CronJob's own command.
            first = http("GET", base + "/jobs/datasets")[1]
            startup = first["running_run"] or first["queued_run"] or first["last_run"]["id"]
            self.wait(base, startup)
            [trigger] = pod_spec(self.docs[("CronJob", "riptide-trigger-datasets")])["containers"]
            tenv = self.container_env(trigger)
            targs = [re.sub(r"\$\((\w+)\)", lambda m: tenv[m.group(1)], a) for a in trigger["args"]]
            targs[-1] = targs[-1].replace("http://riptide:8080", base)
            self.s3.put_object(Bucket="datasets", Key="raw/new.txt", Body=b"new")
            p = subprocess.run([trigger["command"][0], *targs], env=tenv, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            run = self.wait(base, json.loads(p.stdout)["run_id"])
            self.assertEqual((run["state"], run["transferred"], run["trigger"]), ("ok", 1, "manual"))
            self.assertEqual(tree(os.path.join(self.data, "datasets"))["new.txt"], b"new")
            # Without the token the same command is refused: the service listens beyond loopback.
            bare = [a for a in targs if not a.startswith("Authorization")]
            bare.remove("-H")
            p = subprocess.run([trigger["command"][0], *bare], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(60), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        with open(os.path.join(self.tmp, "serve.log")) as f:
            self.assertNotIn(self.secret["RIPTIDE_TOKEN"], f.read())

    def wait(self, base, run_id):
        deadline = time.time() + 60
        while time.time() < deadline:
            status, run = http("GET", f"{base}/runs/{run_id}")
            if status == 200 and run["state"] not in ("queued", "running"):
                return run
            time.sleep(0.05)
        self.fail(f"run {run_id} did not end")

    def test_the_image_installs_every_library_riptide_links(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            stages = f.read().split("\nFROM ")
        runtime = stages[-1]
        install = re.search(r"apt-get install -y --no-install-recommends \\\n(.*?)&&", runtime, re.S).group(1)
        packages = set(install.replace("\\", " ").split())
        needed = re.findall(r"NEEDED\s+(\S+)", subprocess.run(["objdump", "-p", BIN], capture_output=True,
                                                                text=True, check=True).stdout)
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
        # A sanitizer build (scripts/sanitize.sh) links its runtime; the image ships the plain build.
        needed = [lib for lib in needed if not re.match(r"lib(asan|ubsan|tsan)\.so", lib)]
        for lib in needed:
            match = re.search(rf"^\s*{re.escape(lib)} \(.*?\) => (\S+)$", cache, re.M)
            self.assertIsNotNone(match, f"{lib} is not in the linker cache")
            path = os.path.realpath(match.group(1))
            owner = None
            for candidate in (path, path.replace("/usr/lib/", "/lib/", 1), match.group(1)):
                p = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if p.returncode == 0:
                    owner = p.stdout.split(":")[0]
                    break
            self.assertIsNotNone(owner, f"no Debian package owns {lib}")
            self.assertTrue(owner in packages or owner in BASE_IMAGE_PACKAGES,
                            f"riptide links {lib} from {owner}, which the image does not install")
        self.assertIn("USER 10001", runtime)

    def test_the_systemd_unit_and_the_example_config_validate(self):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.optionxform = str
        unit.read(os.path.join(DEPLOY, "systemd", "riptide-serve.service"))
        example = os.path.join(self.tmp, "serve.yaml")
        with open(os.path.join(DEPLOY, "serve.example.yaml")) as f:
            text = f.read()
        with open(example, "w") as f:
            f.write(self.local(text))
        for key in ("ExecStartPre", "ExecStart"):
            argv = shlex.split(unit["Service"][key])
            self.assertEqual(argv[0], "/usr/local/bin/riptide")
            argv = [BIN] + [example if a == "/etc/riptide/serve.yaml" else a for a in argv[1:]]
            if "--check" not in argv:
                argv.append("--check")
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("datasets", p.stdout)
        self.assertEqual(unit["Service"]["KillSignal"], "SIGTERM")
        self.assertIn("/var/lib/riptide", unit["Service"]["ReadWritePaths"])


if __name__ == "__main__":
    unittest.main()
