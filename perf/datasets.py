"""The datasets a benchmark writes: which file system they land on, what is in them, when
they are durable, and how the previous run's copy is put out of the way.

Why the file system matters: ext4 without a journal (the root file system of the machines
this was measured on) will not reuse an inode freed in the last minute, five while its table
block is dirty, and every new file walks past all of them (`recently_deleted` in
fs/ext4/ialloc.c). A client that creates 10,000 files just after 10,000 were deleted spends
most of its CPU there; `perf record` shows find_get_block_common and recently_deleted on
top. With a journal the check is not made. So a benchmark must not delete a dataset just
before the next client writes one, and the header says when the file system is such."""
import glob
import os
import shutil
import subprocess
import time


def filesystem(path):
    """(file system type, device name, has a journal: True, False or None when not ext4)."""
    best, fstype, source = "", "?", "?"
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, kind = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, fstype, source = mnt, kind, dev
    name = os.path.basename(source)
    if fstype != "ext4":
        return fstype, name, None
    return fstype, name, bool(glob.glob(f"/proc/fs/jbd2/{name}-*"))


def describe(path):
    """The header's words for where datasets land."""
    fstype, name, journal = filesystem(path)
    if journal is False:
        return (f"datasets on ext4 without a journal ({name}): new files skip inodes freed in the last "
                "minutes, so each client's previous dataset is set aside, not deleted, while space allows")
    return f"datasets on {fstype}{' with a journal' if journal else ''} ({name})"


def set_aside(path, trash, needed):
    """Moves an earlier dataset at `path` into `trash` (deleted with the workdir at the end)
    while the disk keeps `needed` bytes free beside it; deletes it otherwise."""
    if not os.path.exists(path):
        return
    if shutil.disk_usage(os.path.dirname(path)).free > needed:
        os.makedirs(trash, exist_ok=True)
        os.rename(path, os.path.join(trash, f"{os.path.basename(path)}-{time.monotonic_ns()}"))
    else:
        shutil.rmtree(path, ignore_errors=True)


def durable_sync():
    """Seconds the `sync` a tool leaves to the kernel takes."""
    t0 = time.time()
    subprocess.run(["sync"])
    return time.time() - t0


def tree_size(root):
    """(files, bytes) under root, riptide's state folder aside."""
    n = b = 0
    for dirpath, dirnames, files in os.walk(root):
        if ".riptide" in dirnames:
            dirnames.remove(".riptide")
        for f in files:
            n += 1
            b += os.path.getsize(os.path.join(dirpath, f))
    return n, b
