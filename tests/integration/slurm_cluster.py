"""A one-node Slurm cluster (Debian's slurm-wlm and munge) on this machine for a test:
its config, state and logs in a temporary directory, its daemons on free ports, torn
down afterwards. Root is needed (SlurmUser=root, munged as the munge user)."""
import os
import shutil
import socket
import subprocess
import time

from support import unused_port

TOOLS = ["slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "squeue", "munged", "munge", "unmunge"]


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")]


def tool(name):
    return shutil.which(name) or f"/usr/sbin/{name}"


class SlurmCluster:
    def __init__(self, work):
        self.work = work
        self.conf = os.path.join(work, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.daemons = []
        self.outputs = []
        self._start_munge()
        self._write_config()
        for daemon in ("slurmctld", "slurmd"):
            log = open(os.path.join(work, f"{daemon}.out"), "wb")
            self.outputs.append(log)
            self.daemons.append(subprocess.Popen([tool(daemon), "-D", "-f", self.conf], env=self.env,
                                                 stdout=log, stderr=subprocess.STDOUT))
        self._wait("scontrol ping", lambda out: "UP" in out, ["scontrol", "ping"])
        self._wait("the node to be idle", lambda out: out.strip().startswith("idle"), ["sinfo", "-h", "-o", "%T"])

    def _start_munge(self):
        ok = subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0
        if ok:
            return
        os.makedirs("/run/munge", exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", tool("munged")], check=True, capture_output=True)
        deadline = time.time() + 20
        while subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise AssertionError("munged did not start")
            time.sleep(0.1)

    def _write_config(self):
        node = subprocess.run([tool("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
        node_line = next(line for line in node.splitlines() if line.startswith("NodeName="))
        host = node_line.split()[0].split("=", 1)[1]
        os.makedirs(os.path.join(self.work, "state"), exist_ok=True)
        os.makedirs(os.path.join(self.work, "spool"), exist_ok=True)
        w = self.work
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=riptide
SlurmctldHost={host}
SlurmctldPort={unused_port()}
SlurmdPort={unused_port()}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={w}/state
SlurmdSpoolDir={w}/spool
SlurmctldPidFile={w}/slurmctld.pid
SlurmdPidFile={w}/slurmd.pid
SlurmctldLogFile={w}/slurmctld.log
SlurmdLogFile={w}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=1
ReturnToService=2
MailProg=/bin/true
{node_line}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
""")

    def _wait(self, what, ready, command, timeout=60):
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            for d in self.daemons:
                if d.poll() is not None:
                    raise AssertionError(f"a Slurm daemon exited ({d.returncode}): {self.logs()}")
            p = subprocess.run(command, env=self.env, capture_output=True, text=True)
            out = p.stdout + p.stderr
            if p.returncode == 0 and ready(p.stdout):
                return
            time.sleep(0.2)
        raise AssertionError(f"Slurm: no {what} within {timeout} s ({out.strip()}): {self.logs()}")

    def logs(self):
        text = ""
        for name in ("slurmctld.log", "slurmd.log"):
            path = os.path.join(self.work, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f"\n--- {name}\n" + f.read()[-3000:]
        return text

    def sbatch(self, script, array, env, timeout=180):
        """Submits an array job and waits for it: (exit code of sbatch --wait, job id)."""
        p = subprocess.run([tool("sbatch"), "--wait", "--parsable", f"--array={array}",
                            f"--output={self.work}/job-%A_%a.log", script],
                           env=dict(self.env, **env), capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout.strip(), p.stderr

    def task_logs(self):
        text = ""
        for name in sorted(os.listdir(self.work)):
            if name.startswith("job-"):
                with open(os.path.join(self.work, name), errors="replace") as f:
                    text += f"\n--- {name}\n" + f.read()[-2000:]
        return text

    def stop(self):
        for d in self.daemons:
            if d.poll() is None:
                d.terminate()
        for d in self.daemons:
            try:
                d.wait(timeout=15)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
        for log in self.outputs:
            log.close()


def hostname_resolves():
    try:
        socket.gethostbyname(socket.gethostname())
        return True
    except OSError:
        return False
