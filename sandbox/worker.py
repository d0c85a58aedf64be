"""A warm, isolated worker: sets up its namespaces once, then runs jobs, each in fresh processes.

Started by the pool (pool.py) with an empty environment, so it never holds the trainer's secrets. It talks
to the pool over fds 0/1 with frames (codec.py): per job a small job frame (kind, timeout), the caller's
source frame and the spec frame (tests or expected output). This process reads only the job frame. Per job:
  1. the zygote (zygote.py), forked before any job, forks the candidate's process; the source frame goes
     from the pool's pipe to that process with splice(2), so it never enters this process's memory either;
  2. the judge (judge.py) is forked from here and alone reads the spec frame;
  3. after the judge reports: count the job's processes other than the candidate's (escaped_processes),
     kill them all (listed by the worker's cgroup, else by /proc), and take the exit status and CPU time
     from the kernel (/proc/PID/stat of the zombie): never from a frame the candidate could write.
     Setup failures come on a pipe the candidate's code never holds.
Nothing to clean up on disk: the job's tmpfs is dropped with its mount namespace.

Invariant: nothing of job N is observable in job N+1 (see the package docstring for how each channel is
closed). What this module does NOT do: pooling, retries, time limits on itself (the pool has a backstop).
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import time
import traceback

from . import cgroups, child, codec, isolation, kernel, warm, zygote

JUDGE_GRACE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Worker:
    def __init__(self, cfg: dict, in_fd: int, out_fd: int):
        self.cfg, self.in_fd, self.out_fd = cfg, in_fd, out_fd
        self.disabled = set(cfg.get("disable", ()))
        self.layers: dict[str, str] = {}
        self.own_pidns = False
        self.uid: int | None = None
        self.group: cgroups.JobGroup | None = None
        self.fresh_scratch = self.broken = False
        self.judge_zygote_pid, self.judge_ctl, self.judge_pid = 0, None, 0
        self.zygote_pid, self.ctl = 0, None

    # ---- start-up -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Enter namespaces (forking into the new pid namespace), mount, build policies, fork the zygote."""
        host_pid, was_root = os.getpid(), os.geteuid() == 0
        if was_root:
            cgroups.sweep_stale()  # before /proc shows only our namespace
        self.own_pidns = isolation.enter_namespaces(self.disabled, self.layers)
        if self.own_pidns:
            pid = os.fork()
            if pid:  # the outer process only waits, like `unshare --fork`
                os.close(self.in_fd)
                os.close(self.out_fd)
                _, status = os.waitpid(pid, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
        else:
            kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
        kernel.set_name("sbx-worker")
        kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
        self._pick_uid(host_pid, was_root)
        self.group = isolation.make_job_group(self.cfg, self.disabled, self.layers, f"{cgroups.PREFIX}{host_pid}")
        isolation.setup_mounts(self.cfg, self.disabled, self.layers, self.uid)
        ruleset, sfilter = isolation.prepare_policies(self.disabled, self.layers)
        self.layers["rlimits"] = "ok"
        self.layers["no_new_privs"] = "ok"
        self._start_zygotes(ruleset, sfilter)
        self._self_test()

    def _pick_uid(self, host_pid: int, was_root: bool) -> None:
        if "uid" in self.disabled:
            self.layers["uid"] = "disabled by caller"
        elif was_root:
            self.uid = int(self.cfg.get("uid") or 2_000_000 + host_pid % 1_000_000)
            self.layers["uid"] = f"ok (uid {self.uid})"
        elif self.layers.get("ns_mount") == "ok":
            self.layers["uid"] = "ok (user namespace, no capabilities)"
        else:
            self.layers["uid"] = "needs root or user namespaces"

    def _start_zygotes(self, ruleset: int | None, sfilter) -> None:
        """The candidates' zygote first, while this process is still small; then the judges' zygote."""
        ctx = {"ruleset": ruleset, "seccomp": sfilter, "cgroup_fds": self.group.join_fds if self.group else [],
               "fresh_ipc": self.layers.get("ns_ipc") == "ok" and not self.cfg.get("no_ipc_ns_per_job"),
               "stdio": child.stdio_objects()}
        self.fresh_scratch = self.layers.get("ns_mount") == "ok"
        keep = ([ruleset] if ruleset is not None else []) + list(ctx["cgroup_fds"])
        self.zygote_pid, self.ctl = zygote.start("sbx-zygote", zygote.candidate_entry, ctx, keep, 6,
                                                 warm.candidate_side)
        if ruleset is not None:
            os.close(ruleset)
        from . import judge  # imported before the judges' zygote forks, not per judge

        limits = {"output_bytes": self.cfg["output_bytes"], "response_bytes": self.cfg["response_bytes"]}
        jctx = {"limits": limits, "judge": judge}
        self.judge_zygote_pid, self.judge_ctl = zygote.start("sbx-judges", judge_entry, jctx, [], 7,
                                                             lambda: warm.judge_side(limits))

    def _self_test(self) -> None:
        source, checks = isolation.probe_job(self.layers, self.plan(5.0, "tests"))
        r, w = os.pipe()
        codec.write_all(w, codec.pack({"source": source, "stdin": ""}))
        codec.write_all(w, codec.pack({"tests": [c for _, c in checks], "entry_point": None}))
        os.close(w)
        result = self.run_job({"kind": "tests", "timeout": 5.0}, r)
        self.settle()
        os.close(r)
        if result["status"] != "pass":
            detail = result["detail"]
            idx = int(detail.split(":")[0].split()[-1]) - 1 if detail.startswith("test ") else None
            layer = checks[idx][0] if idx is not None and idx < len(checks) else "self-test"
            self.layers[layer] = f"self-test failed: {result['status']} {detail}"[:300]

    # ---- jobs -----------------------------------------------------------------------------------------
    def plan(self, timeout: float, kind: str) -> dict:
        c = self.cfg
        return {"kind": kind, "workdir": isolation.WORKDIR, "timeout": timeout, "uid": self.uid,
                "memory_bytes": c["memory_mb"] << 20, "file_bytes": c["file_mb"] << 20,
                "max_files": c["max_files"], "max_procs": c["max_procs"]}

    def run_job(self, job: dict, frames_fd: int) -> dict:
        """Run one job whose source and spec frames come next on `frames_fd`; returns the result fields."""
        t0 = time.monotonic()
        kind = "io" if job.get("kind") == "io" else "tests"
        timeout = min(float(job["timeout"]), 3600.0)
        plan = self.plan(timeout, kind)
        pipes = {k: os.pipe() for k in ("setup", "src", "out", "err", "req", "resp", "verdict")}
        self._mount_scratch()
        c_fds = {"setup": pipes["setup"][1], "src": pipes["src"][0], "out": pipes["out"][1],
                 "err": pipes["err"][1], "req": pipes["req"][0], "resp": pipes["resp"][1]}
        try:
            c_pid = zygote.fork_via(self.ctl, [c_fds[n] for n in zygote.FD_NAMES])
        finally:
            for fd in c_fds.values():
                os.close(fd)
        try:
            codec.write_all(pipes["src"][1], codec.pack(plan))
        except BrokenPipeError:  # the candidate's process died before reading its job: reported below
            pass
        _forward_frame(frames_fd, pipes["src"][1])
        os.close(pipes["src"][1])
        c_pidfd = os.pidfd_open(c_pid)
        j_fds = [pipes["req"][1], pipes["resp"][0], pipes["out"][0], pipes["err"][0], c_pidfd, pipes["verdict"][1]]
        try:
            j_pid = self.judge_pid = zygote.fork_via(self.judge_ctl, j_fds + [frames_fd],
                                                     struct.pack("=?d", kind == "io", t0 + timeout))
        finally:
            for fd in j_fds:
                if fd != c_pidfd:
                    os.close(fd)
        verdict = self._await_judge(j_pid, pipes["verdict"][0], t0 + timeout + JUDGE_GRACE_S)
        os.close(pipes["verdict"][0])
        escaped = self._end_job(c_pid, c_pidfd)
        exit_status, cpu_s = _zombie_stat(c_pid)
        os.close(c_pidfd)
        setup_error = _read_all(pipes["setup"][0])
        os.close(pipes["setup"][0])
        return _merge(verdict, kind, escaped, exit_status, cpu_s, int(timeout) + 2, setup_error,
                      time.monotonic() - t0)

    def _await_judge(self, j_pid: int, verdict_fd: int, hard_deadline: float) -> dict:
        """The judge's verdict, or timeout/error; a judge that died without one may have left its spec
        frame unread in our input, so the worker then stops after this job (the pool starts a new one)."""
        pidfd = os.pidfd_open(j_pid)
        try:
            ready, _, _ = select.select([verdict_fd, pidfd], [], [], max(0.0, hard_deadline - time.monotonic()))
            if not ready:
                os.kill(j_pid, signal.SIGKILL)
                self.broken = True
                return {"status": "timeout", "passed": 0, "total": 1, "detail": "the test code did not finish"}
            try:
                return codec.read_frame(verdict_fd)
            except (EOFError, codec.CodecError):
                self.broken = True
                return {"status": "error", "passed": 0, "total": 1, "detail": "the judge died without a verdict"}
        finally:
            os.close(pidfd)

    def _mount_scratch(self) -> None:
        """A new tmpfs at the job's working directory: nothing on it (files, xattrs, ACLs) predates the job."""
        if not self.fresh_scratch:
            return
        c = self.cfg
        owner = f",uid={self.uid},gid={self.uid}" if self.uid is not None else ""
        opts = f"size={c['scratch_mb']}m,nr_inodes={c['scratch_inodes']},mode=700{owner}"
        kernel.mount("tmpfs", isolation.WORKDIR, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, opts)

    def _drop_scratch(self) -> None:
        """Detach the job's tmpfs: the kernel frees it whole, so no file tree is ever walked (a directory
        chain of any depth costs nothing here). Without a mount namespace: an iterative, symlink-safe wipe."""
        if self.fresh_scratch:
            kernel.umount(isolation.WORKDIR)
        else:
            isolation.wipe_dir(isolation.WORKDIR)

    # ---- the end of a job -----------------------------------------------------------------------------
    def _end_job(self, c_pid: int, c_pidfd: int) -> int:
        """Count the job's processes other than the candidate's, kill them all, wait for the candidate."""
        escaped = sum(1 for pid in self._job_pids() if pid != c_pid)
        try:
            os.kill(c_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for i in range(10_000):  # a process with SIGKILL pending cannot fork: this converges in a few rounds
            pids = [p for p in self._job_pids() if p != c_pid]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.0002 * min(i, 50))
        select.select([c_pidfd], [], [], 30.0)  # readable once it has exited (a zombie until the zygote reaps)
        return escaped

    def settle(self) -> None:
        """Finish a job after its result is sent (off the caller's critical path), before the next starts:
        reap the job's orphans (handed to us as pid 1 / subreaper; zombies still count as pids) and drop
        its tmpfs."""
        deadline = time.monotonic() + 5.0
        while True:
            kernel.reap_discarding_status()
            if self.group is None or self.group.charged() <= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.0002)
        self._drop_scratch()

    def _job_pids(self) -> list[int]:
        """Live processes of the job: the cgroup's list, else /proc (our pid namespace, or the job's uid)."""
        if self.group is not None:
            return [p for p in self.group.pids() if p != self.zygote_pid]
        skip = {os.getpid(), self.zygote_pid, self.judge_zygote_pid, self.judge_pid}
        out = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in skip:
                continue
            try:
                state = kernel.read_file(f"/proc/{name}/stat").rsplit(b")", 1)[1].split()[0]
                uid = os.stat(f"/proc/{name}").st_uid
            except OSError:
                continue
            mine = uid == self.uid if self.uid is not None else self.own_pidns
            if state != b"Z" and mine:
                out.append(int(name))
        return out

    # ---- serving --------------------------------------------------------------------------------------
    def serve(self) -> None:
        codec.write_all(self.out_fd, codec.pack({"t": "hello", "layers": self.layers}))
        try:
            self._serve_jobs()
        finally:
            for ctl, pid in ((self.ctl, self.zygote_pid), (self.judge_ctl, self.judge_zygote_pid)):
                ctl.close()  # a zygote exits on EOF; then the group is empty and can go
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
            kernel.reap_discarding_status()
            if self.group is not None:
                self.group.remove()

    def _serve_jobs(self) -> None:
        while True:
            try:
                job = codec.read_frame(self.in_fd, limit=1 << 16)
            except EOFError:
                return
            if job.get("t") == "quit":
                return
            try:
                result = self.run_job(job, self.in_fd)
            except Exception as e:  # a broken worker reports once and exits; the pool replaces it
                traceback.print_exc()
                codec.write_all(self.out_fd, codec.pack(
                    {"t": "result", "status": "error", "passed": 0, "total": 0, "detail": f"worker: {e!r}"[:300]}))
                return
            codec.write_all(self.out_fd, codec.pack({"t": "result", **result}))
            self.settle()
            if self.broken:
                return


def judge_entry(ctx: dict, msg: bytes, fds: list[int]) -> None:
    """The judge process, forked by the judges' zygote: read the spec frame, judge, write the verdict."""
    judge = ctx["judge"]  # not an import statement: even a cached one runs import machinery per judge
    kernel.set_name("sbx-judge")
    io_mode, deadline = struct.unpack("=?d", msg)
    req, resp, out, err, c_pidfd, verdict_w, spec_fd = fds
    code = 0
    try:
        spec = codec.read_frame(spec_fd)
        chan_fds = {"req": req, "resp": resp, "out": out, "err": err, "pidfd": c_pidfd}
        verdict = judge.run_judge("io" if io_mode else "tests", chan_fds, deadline, ctx["limits"], spec)
        codec.write_all(verdict_w, codec.pack(verdict))
    except BaseException as e:
        code = 1
        try:
            msg = {"status": "error", "passed": 0, "total": 1, "detail": f"judge: {type(e).__name__}: {e}"[:300]}
            codec.write_all(verdict_w, codec.pack(msg))
        except BaseException:
            pass
    finally:
        os._exit(code)


def _forward_frame(src: int, dst: int) -> bool:
    """Move one frame from pipe `src` to pipe `dst` in the kernel (splice): its bytes never enter our heap.

    If `dst` closes early (the candidate's process died), the rest of the frame goes to /dev/null, so the
    next frame on `src` still starts where it should. Returns whether the whole frame was delivered.
    """
    header = codec.read_exact(src, codec.HEADER.size)
    left, delivered, null = codec.HEADER.unpack(header)[0], True, -1
    try:
        codec.write_all(dst, header)
    except BrokenPipeError:
        delivered = False
    try:
        while left:
            if not delivered and null < 0:
                null = os.open("/dev/null", os.O_WRONLY)
            try:
                n = os.splice(src, dst if delivered else null, left)
            except BrokenPipeError:
                delivered = False
                continue
            if n == 0:
                raise EOFError("the pool closed its pipe mid-frame")
            left -= n
    finally:
        if null >= 0:
            os.close(null)
    return delivered


def _zombie_stat(pid: int) -> tuple[int | None, float]:
    """(wait status, CPU seconds) of an exited child from /proc/PID/stat, before it is reaped.

    Fields 14-15 are utime and stime in clock ticks, field 52 the exit code in waitpid(2)'s format.
    """
    try:
        fields = kernel.read_file(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()
    except OSError:
        return None, 0.0
    return int(fields[49]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _read_all(fd: int) -> str:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 4096).decode("utf-8", "replace")
    except BlockingIOError:
        return ""


def _merge(verdict: dict, kind: str, escaped: int, status: int | None, cpu_s: float, cpu_limit: int,
           setup_error: str, duration: float) -> dict:
    """The job's result: the judge's verdict, corrected only by what the kernel and this worker saw."""
    out = {k: verdict.get(k) for k in ("status", "passed", "total", "detail")}
    sig = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
    if setup_error:
        out.update(status="error", passed=0, detail=f"sandbox setup failed: {setup_error}"[:300])
    elif sig in (signal.SIGXCPU, signal.SIGKILL) and cpu_s >= cpu_limit - 0.05 and out["status"] != "pass":
        out["status"], out["detail"] = "timeout", "CPU time limit reached"  # our limit, by our clock
    elif out["status"] in ("exited", "fail") and sig is not None and sig != signal.SIGKILL:
        out["detail"] = f"{out['detail']} (killed by {signal.Signals(sig).name})"
    elif kind == "io" and out["status"] == "pass" and status != 0:
        how = ("left no exit status" if status is None else f"was killed by {signal.Signals(sig).name}" if sig
               else f"exited with status {status >> 8}")
        out.update(status="fail", passed=0, detail=f"the program {how}")
    if escaped and out["status"] in ("pass", "fail", "exited"):
        out["status"] = "escaped_processes"
        out["detail"] = f"{escaped} process(es) outlived the job and were killed; {out['detail']}"
    out["duration_s"] = round(duration, 4)
    return out


def main() -> None:
    """Entry point: `python -I -c 'from sandbox.worker import main; main()' CONFIG_JSON`."""
    import json

    cfg = json.loads(sys.argv[1])
    in_fd, out_fd = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    w = Worker(cfg, in_fd, out_fd)
    w.start()
    w.serve()
