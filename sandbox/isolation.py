"""Worker start-up: namespaces, mounts, the job cgroup and the prepared Landlock/seccomp policies, with a
layer report.

Runs once per worker process (started with an empty environment). Each layer is tried and recorded as
"ok" or the reason it failed, so the pool can refuse to run untrusted code when one is missing and the
caller did not opt out. Layers: ns_mount, ns_net, ns_ipc, ns_uts, ns_pid (the worker's, and a fresh
mount and IPC namespace per job), scratch (a size- and inode-limited tmpfs per job at /tmp/job; the
worker's /tmp is an empty read-only tmpfs), hide_root (/root behind a tmpfs, the Python install bound back
read-only), uid (an unprivileged uid as root; zero capabilities in a user namespace otherwise), rlimits,
no_new_privs, landlock, seccomp, cgroup (v1 cpu, memory and pids group per worker, see cgroups.py).
What this module does NOT do: per-job work (worker.py, zygote.py, child.py).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import sysconfig

from . import cgroups, kernel

LAYERS = ("ns_mount", "ns_net", "ns_ipc", "ns_uts", "ns_pid", "scratch", "hide_root", "uid", "rlimits",
          "no_new_privs", "landlock", "seccomp", "cgroup")
# A host without cgroup v1 controllers (v2-only, or not root) still runs jobs, with a warning: memory is then
# bounded per process and CPU shared per session (autogroup). Any other cgroup failure refuses, as for a layer.
HOST_LACKS = "unavailable on this host"
SCRATCH = "/tmp"
WORKDIR = "/tmp/job"
SYSTEM_READ_ONLY = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
                    "/etc/localtime", "/etc/ld.so.cache")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def python_dirs() -> list[str]:
    """The directories the interpreter reads from: prefixes, stdlib, site-packages (minimal set)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths |= {v for k, v in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths = {os.path.realpath(p) for p in paths if p and os.path.isdir(p)}
    return sorted(p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths))


def enter_namespaces(disabled: set[str], layers: dict) -> bool:
    """unshare the namespaces (plus a user namespace when not root); True when a pid namespace was made."""
    rootless = os.geteuid() != 0
    wanted = {n: f for n, f in kernel.NAMESPACE_FLAGS.items() if "ns_" + n not in disabled}
    base = kernel.CLONE_NEWUSER if rootless else 0
    try:
        kernel.unshare(base | sum(wanted.values()))
        for n in wanted:
            layers["ns_" + n] = "ok"
    except OSError:
        if rootless:
            for n in wanted:
                layers["ns_" + n] = "needs root or user namespaces"
            return False
        for n, flag in wanted.items():
            try:
                kernel.unshare(flag)
                layers["ns_" + n] = "ok"
            except OSError as e:
                layers["ns_" + n] = str(e)
    if rootless:
        uid, gid = os.getuid(), os.getgid()
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
            kernel.write_file(f"/proc/self/{name}", text.encode())
    return layers.get("ns_pid") == "ok"


def setup_mounts(cfg: dict, disabled: set[str], layers: dict, job_uid: int | None) -> None:
    """Private mounts, fresh /proc, scratch tmpfs, hidden /root; records scratch and hide_root.

    The scratch tmpfs covers /tmp and the hiding tmpfs covers /root, so what Python needs from under
    either (a pyenv install under /root, a venv or a checkout under /tmp) is opened first and bound back
    read-only on top of them.
    """
    if layers.get("ns_mount") != "ok":
        layers["scratch"] = layers["hide_root"] = "needs a mount namespace"
        os.makedirs(WORKDIR, exist_ok=True)  # pragma: no cover - only without a mount namespace
        if job_uid is not None:
            os.chown(WORKDIR, job_uid, job_uid)
        os.chmod(WORKDIR, 0o700)
        return
    kernel.mount("none", "/", None, kernel.MS_REC | kernel.MS_PRIVATE)
    hide_root = "hide_root" not in disabled
    covered = (SCRATCH, "/root") if hide_root else (SCRATCH,)
    keep = _open_dirs([p for p in needed_dirs() if any(p == c or p.startswith(c + "/") for c in covered)])
    if layers.get("ns_pid") == "ok":
        kernel.mount("proc", "/proc", "proc", kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC)
    kernel.mount("tmpfs", SCRATCH, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=1m,nr_inodes=1024,mode=755")
    layers["scratch"] = "ok"
    for path in ("/dev/shm", "/var/tmp"):
        if os.path.isdir(path):
            kernel.mount("tmpfs", path, "tmpfs", kernel.MS_RDONLY | kernel.MS_NOSUID | kernel.MS_NODEV, "size=4k")
    if not hide_root:
        layers["hide_root"] = "disabled by caller"
    else:
        try:
            if "/root" in keep:
                raise OSError(0, "the Python install is /root itself")
            kernel.mount("tmpfs", "/root", "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=1m,mode=755")
            layers["hide_root"] = "ok"
        except OSError as e:
            layers["hide_root"] = str(e)
    _bind_back(keep)
    os.makedirs(WORKDIR, exist_ok=True)  # each job mounts its own tmpfs here (child.py)
    kernel.mount("none", SCRATCH, None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY | kernel.MS_NOSUID
                 | kernel.MS_NODEV)


def needed_dirs() -> list[str]:
    """Python's directories plus this package's own folder (imported by workers and judges)."""
    own = os.path.dirname(os.path.realpath(__file__))
    return sorted(set(python_dirs()) | {own})


def _open_dirs(paths: list[str]) -> dict[str, int]:
    """O_PATH descriptors of `paths`, taken before a tmpfs hides them."""
    return {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in paths}


def _bind_back(fds: dict[str, int]) -> None:
    """Bind each opened directory back at its own path, read-only, over whatever tmpfs now covers it."""
    for path, fd in fds.items():
        os.makedirs(path, exist_ok=True)
        kernel.mount(f"/proc/self/fd/{fd}", path, None, kernel.MS_BIND | kernel.MS_REC)
        kernel.mount("none", path, None, kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY)
        os.close(fd)


def prepare_policies(disabled: set[str], layers: dict):
    """Build the Landlock ruleset fd and the seccomp filter once; children only enforce them."""
    ruleset = sfilter = None
    if "landlock" in disabled:
        layers["landlock"] = "disabled by caller"
    else:
        try:
            ruleset = kernel.landlock_ruleset(
                python_dirs() + [p for p in SYSTEM_READ_ONLY if os.path.exists(p)], [SCRATCH], list(DEVICES))
            layers["landlock"] = f"ok (ABI {kernel.landlock_abi()})"
        except OSError as e:
            layers["landlock"] = str(e)
    if "seccomp" in disabled:
        layers["seccomp"] = "disabled by caller"
    else:
        try:
            sfilter = kernel.CompiledFilter(_bpf_elsewhere())
            layers["seccomp"] = "ok"
        except Exception as e:  # ImportError/OSError from libseccomp
            layers["seccomp"] = f"{type(e).__name__}: {e}"
    if layers.get("ns_uts") == "ok":
        socket.sethostname("sandbox")
    return ruleset, sfilter


def _bpf_elsewhere() -> bytes:
    """Compile the seccomp program in a throwaway child, so libseccomp never sits in the worker's (and so
    every job's) memory: smaller processes fork and exit faster."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.write(w, kernel.seccomp_bpf())
        except BaseException as e:
            os.write(w, b"!" + f"{type(e).__name__}: {e}".encode()[:300])
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 1 << 16):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data.startswith(b"!"):
        raise OSError(data[1:].decode("utf-8", "replace"))
    return data


def make_job_group(cfg: dict, disabled: set[str], layers: dict, name: str) -> cgroups.JobGroup | None:
    """The worker's cgroup for its jobs, or None. The zygote lives in it too (one more process, and 64 MiB
    more memory than the job's address space plus its scratch)."""
    if "cgroup" in disabled:
        layers["cgroup"] = "disabled by caller"
        return None
    try:
        group = cgroups.JobGroup(name, (cfg["memory_mb"] + cfg["scratch_mb"] + 64) << 20, cfg["max_procs"] + 1)
    except OSError as e:
        absent = e.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS)
        layers["cgroup"] = f"{HOST_LACKS if absent else 'failed'}: cgroup v1 cpu/memory/pids: {e}"
        return None
    layers["cgroup"] = "ok (v1 cpu, memory, pids)"
    return group


def wipe_dir(path: str) -> None:
    """Empty `path` without recursion and without following symlinks (used only without a mount namespace,
    where a job cannot have a tmpfs of its own). Subdirectories are renamed up into `path` before they are
    emptied, so a directory chain of any depth needs two open fds, not one per level."""
    root = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for attr in os.listxattr(root):
            os.removexattr(root, attr)
        serial = 0
        while True:
            with os.scandir(root) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
            if not entries:
                return
            for name, is_dir in entries:
                if not is_dir:
                    os.unlink(name, dir_fd=root)
                    continue
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
                try:
                    with os.scandir(sub) as it:
                        inner = [e.name for e in it]
                    for child_name in inner:
                        serial += 1
                        os.rename(child_name, f".w{serial}", src_dir_fd=sub, dst_dir_fd=root)
                finally:
                    os.close(sub)
                os.rmdir(name, dir_fd=root)
    finally:
        os.close(root)


def probe_job(layers: dict, plan: dict) -> tuple[str, list[tuple[str, str]]]:
    """A job that checks, from inside a child, that each enabled layer holds; (source, [(layer, assert)])."""
    source = (
        "import os, socket, ctypes, resource\n"
        "def blocked(f):\n"
        "    try:\n        f()\n    except OSError:\n        return True\n    return False\n"
        "def uid():\n    return os.getuid()\n"
        "def nnp():\n    return ctypes.CDLL(None).prctl(39, 0, 0, 0, 0)\n"
        "def nproc():\n    return resource.getrlimit(resource.RLIMIT_NPROC)[0]\n"
        "def no_socketpair():\n    return blocked(socket.socketpair)\n"
        "def no_etc():\n    return blocked(lambda: os.listdir('/etc'))\n"
        "def write_scratch():\n    open('probe', 'w').write('x'); return open('probe').read()\n"
        "def no_shm():\n    return ctypes.CDLL(None).shmget(0, 4096, 0o1600) == -1\n"
    )
    checks = [("scratch", "assert write_scratch() == 'x'"), ("rlimits", f"assert nproc() == {plan['max_procs']}"),
              ("no_new_privs", "assert nnp() == 1")]
    if plan["uid"] is not None:
        checks.append(("uid", f"assert uid() == {plan['uid']}"))
    if layers.get("landlock", "").startswith("ok"):
        checks.append(("landlock", "assert no_etc()"))
    if layers.get("seccomp") == "ok":
        checks += [("seccomp", "assert no_socketpair()"), ("seccomp", "assert no_shm()")]

    return source, checks
