"""Thin ctypes wrappers for the Linux isolation primitives Python 3.11 does not expose.

unshare, setns, mount, prctl (no_new_privs, parent-death signal, child subreaper, name), capset, a status-less
waitpid, Landlock (raw syscalls:
the PyPI `landlock` package covers files only, not TCP or signal scoping) and a seccomp deny-list built
with pyseccomp. Also the per-job helpers a freshly forked process calls, kept to os-level calls (every page a
fresh fork touches is copied): small /proc and /sys files, the process name, signal dispositions. Every
function raises OSError with the errno on failure, so the worker can report which layer is missing. What this module does NOT do: decide policy (which paths, which limits); see worker.py
and child.py. x86_64 and aarch64 share the Landlock syscall numbers used here.
"""

from __future__ import annotations

import _signal
import ctypes
import errno
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x20000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
NAMESPACE_FLAGS = {"mount": CLONE_NEWNS, "net": CLONE_NEWNET, "ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS,
                   "pid": CLONE_NEWPID}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
PR_SET_DUMPABLE, PR_SET_NAME = 4, 15


def _check(ret: int, what: str) -> int:
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return ret


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s):
        return s.encode() if s is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def set_name(name: str) -> None:
    """The process name `ps` and `perf` show (best effort, at most 15 bytes). Written to /proc, not through
    ctypes: a process's first ctypes call touches ~60 pages, which a fresh fork copies (the judge makes no
    other; measured 0.07 vs 0.2 ms of CPU in a fresh child)."""
    try:
        write_file("/proc/thread-self/comm", name.encode()[:15])
    except OSError:
        _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def pread_all(fd: int) -> bytes:
    """All of a file from offset 0 (a /proc or /sys file re-read through a kept fd)."""
    chunks, offset = [], 0
    while chunk := os.pread(fd, 1 << 16, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def read_file(path: str) -> bytes:
    """A small /proc or /sys file through os-level calls: no file object or text wrapper per read."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return pread_all(fd)
    finally:
        os.close(fd)


def write_file(path: str, data: bytes) -> None:
    """os-level, as `read_file` (in a fresh child each object touched costs a copied page)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def set_signal(sig: int, handler):
    """`signal.signal` without its enum round trip (`signal.signal` turns the old handler into a
    `Handlers` member in Python code: ~60 pages touched, 0.2 ms for four calls in a fresh child).
    Returns the old handler as `_signal` gives it, which this function accepts back."""
    return _signal.signal(int(sig), handler if callable(handler) else int(handler))


def reap_discarding_status() -> None:
    """Reap every exited child without reading its status (NULL status pointer: nothing reaches memory)."""
    while _libc.waitpid(-1, None, 1) > 0:  # WNOHANG
        pass


def umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


def drop_capabilities() -> None:
    """capset(all zero) for this thread: used in user-namespace mode, where the uid does not change."""
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = ctypes.create_string_buffer(24)
    _check(_libc.syscall(126 if os.uname().machine == "x86_64" else 91, header, data), "capset")


# ---- Landlock -------------------------------------------------------------------------------------------
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
_FS_BITS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14) | (1 << 15)
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    ret = _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(ret), 0)


def _fs_bits(abi: int) -> int:
    return _FS_BITS_BY_ABI[max(k for k in _FS_BITS_BY_ABI if k <= abi)]


def landlock_ruleset(read_only: list[str], read_write: list[str], devices: list[str]) -> int:
    """Build a ruleset fd: read-only trees, read-write trees, read/write device files; nothing else.

    Exec is handled and never allowed; with ABI >= 4 all TCP bind/connect is denied; with ABI >= 6
    signals and abstract unix sockets are scoped to the sandboxed process tree.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.EOPNOTSUPP, "Landlock is not available in this kernel")
    fs = _fs_bits(abi)
    net = (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, net, scoped)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    fd = _check(_libc.syscall(_SYS_CREATE, attr[:size], ctypes.c_size_t(size), ctypes.c_uint32(0)),
                "landlock_create_ruleset")
    ro = FS_READ_FILE | FS_READ_DIR
    rw = fs & ~FS_EXECUTE & ~(1 << 6) & ~(1 << 11)  # everything but exec, char and block devices
    for paths, access in ((read_only, ro), (read_write, rw), (devices, FS_READ_FILE | FS_WRITE_FILE)):
        for p in paths:
            _add_path_rule(fd, p, access)
    return fd


def _add_path_rule(ruleset_fd: int, path: str, access: int) -> None:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = struct.pack("=Qi", access, pfd)  # struct landlock_path_beneath_attr is packed
        _check(_libc.syscall(_SYS_ADD_RULE, ruleset_fd, ctypes.c_int(1), rule, ctypes.c_uint32(0)),
               f"landlock_add_rule {path}")
    finally:
        os.close(pfd)


def landlock_restrict(ruleset_fd: int) -> None:
    """Enforce the ruleset on this thread (needs no_new_privs or CAP_SYS_ADMIN)."""
    _check(_libc.syscall(_SYS_RESTRICT, ruleset_fd, ctypes.c_uint32(0)), "landlock_restrict_self")


# ---- seccomp --------------------------------------------------------------------------------------------
# SysV and POSIX message-queue IPC: objects that outlive the process that made them. Denied outright, and
# each job also gets a fresh IPC namespace (child.py), so neither layer alone has to hold.
SYSV_IPC_SYSCALLS = (
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget", "msgsnd",
    "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr",
)
DENIED_SYSCALLS = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "execve", "execveat",
    "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
    "pivot_root", "chroot", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "syslog", "fanotify_init", "move_mount", "open_tree",
    "fsopen", "fsmount", "fspick", "mount_setattr", "pidfd_getfd", "kcmp",
) + SYSV_IPC_SYSCALLS


class CompiledFilter:
    """A seccomp BPF program compiled once by libseccomp; `load()` is one prctl, no recompilation per fork."""

    def __init__(self, bpf: bytes):
        if not bpf or len(bpf) % 8:
            raise OSError(errno.EINVAL, "empty or malformed BPF program")
        self._buf = ctypes.create_string_buffer(bpf, len(bpf))
        self._prog = struct.pack("HxxxxxxQ", len(bpf) // 8, ctypes.addressof(self._buf))

    def load(self) -> None:
        """Install the filter on this thread (needs no_new_privs)."""
        _check(_libc.prctl(22, ctypes.c_ulong(2), self._prog, 0, 0), "prctl(PR_SET_SECCOMP)")


def seccomp_filter() -> CompiledFilter:
    """Build the deny-list once and compile it: see `_build_filter`."""
    return CompiledFilter(seccomp_bpf())


def seccomp_bpf() -> bytes:
    """The compiled BPF program of `_build_filter` (a few hundred bytes; written to a memfd, since /tmp
    may already be read-only when the worker builds it)."""
    with os.fdopen(os.memfd_create("seccomp-bpf"), "w+b") as f:
        _build_filter().export_bpf(f)
        f.seek(0)
        return f.read()


def _build_filter():
    """A pyseccomp filter: allow by default, EPERM for the syscalls above and for namespace clones.

    clone3 answers ENOSYS so the C library falls back to clone, whose flags a BPF filter can inspect.
    Import is deferred so that a missing libseccomp is reported as a missing layer, not an ImportError.
    """
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            pass  # not a syscall on this architecture
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    ns = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
    for bit in range(32):
        if ns & (1 << bit):
            f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, 1 << bit, 1 << bit))
    return f
