"""Reads what `strace -f -y -s N -o FILE` recorded into ordered system calls, for tests
that check the order of renames, syncs and state writes.

Each call is one Call with the thread id, the name, the argument text (buffers decoded
to bytes where strace printed them), the path of its first descriptor (from -y), and the
positions of its start and its end in the log: a call split over two lines by another
thread (`<unfinished ...>` / `<... resumed>`) starts at the first and ends at the second,
so "A ended before B started" is a fact of the trace.
"""
import codecs
import os
import re
import shutil
import subprocess
from dataclasses import dataclass


def usable_strace():
    """strace's path when it is installed and may trace here (a container without
    CAP_SYS_PTRACE may not), else None."""
    path = shutil.which("strace")
    if path and subprocess.run([path, "-f", "-o", "/dev/null", "true"], capture_output=True).returncode == 0:
        return path
    return None


STRACE = usable_strace()
LINE = re.compile(r"^(\d+)\s+(.*)$")
START = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
FIRST_FD = re.compile(r"^\d+<([^>]*)>")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Call:
    tid: int
    name: str
    args: str
    start: int
    end: int = -1

    @property
    def path(self):
        """The path of the first argument's descriptor, "" when it is not one."""
        m = FIRST_FD.match(self.args)
        return m.group(1) if m else ""

    def strings(self):
        """The string arguments, as bytes (strace escapes decoded)."""
        return [codecs.escape_decode(s.encode("latin-1"))[0] for s in STRING.findall(self.args)]

    def wrote(self, data: bytes):
        return any(data in s for s in self.strings())


def parse(path):
    calls, open_calls = [], {}
    with open(path, encoding="latin-1") as f:
        for index, line in enumerate(f):
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            tid, rest = int(m.group(1)), m.group(2)
            resumed = RESUMED.match(rest)
            if resumed:
                call = open_calls.pop(tid, None)
                if call is not None:
                    call.args += resumed.group(2)
                    call.end = index
                continue
            started = START.match(rest)
            if not started:
                continue  # signals, exits
            call = Call(tid, started.group(1), started.group(2), index)
            calls.append(call)
            if rest.endswith("<unfinished ...>"):
                call.args = call.args[: -len("<unfinished ...>")]
                open_calls[tid] = call
            else:
                call.end = index
    for call in open_calls.values():
        call.end = 10**12  # never finished: the process was killed inside it
    return calls


def command(trace_file, syscalls, strings=1 << 20):
    """The strace prefix for a command line."""
    return [STRACE, "-f", "-qq", "-y", "-s", str(strings), "-e", "trace=" + ",".join(syscalls), "-o", trace_file]


def untraceable_leak_check():
    """ASAN_OPTIONS for a traced riptide: LeakSanitizer cannot run under ptrace (the
    sanitizer builds check leaks in every other test)."""
    current = os.environ.get("ASAN_OPTIONS", "")
    return (current + ":" if current else "") + "detect_leaks=0"


def traced_riptide(case, syscalls, args, strings=1 << 20):
    """Runs `riptide ARGS --endpoint … --no-progress` against a ServerTestCase's server under
    strace, fails the test unless it exits 0, and gives the calls it made, in order. The
    first call is the execve: its thread is riptide's main thread."""
    from support import BIN  # here, not at the top: support needs no strace
    trace = os.path.join(case.tmp, "trace")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=case.server.access_key, AWS_SECRET_ACCESS_KEY=case.server.secret_key,
               XDG_STATE_HOME=os.path.join(case.tmp, "state"), ASAN_OPTIONS=untraceable_leak_check())
    p = subprocess.run(command(trace, ["execve", *syscalls], strings)
                       + [BIN, *args, "--endpoint", case.server.endpoint, "--no-progress"],
                       env=env, capture_output=True, text=True, timeout=300)
    case.assertEqual(p.returncode, 0, p.stderr)
    return parse(trace)
