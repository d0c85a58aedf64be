"""A warm, isolated worker process: sets up its namespaces once, then forks a fresh child per job.

Started by the pool (pool.py) with an empty environment, so it never holds the trainer's secrets. It talks
to the pool over fds 0/1 with frames (codec.py). Per job: read the job frame (source, stdin, limits), fork
the candidate's child (child.py), then fork the judge (judge.py), which alone reads the second frame (the
tests or the expected output): neither the candidate nor this long-lived process ever holds them, so a
later candidate cannot dig them out of inherited memory. After the judge reports, kill every process of the
job (the worker is pid 1 of its own pid namespace, so kill(-1) reaches double-forked daemons), count the
ones that had left the job's session (escaped_processes), reap, wipe the scratch directory.
What this module does NOT do: pooling, retries, time limits on itself (the pool has a backstop).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import time
import traceback

from . import child, codec, isolation, judge, kernel

JUDGE_GRACE_S = 5.0


class Worker:
    def __init__(self, cfg: dict, in_fd: int, out_fd: int):
        self.cfg, self.in_fd, self.out_fd = cfg, in_fd, out_fd
        self.disabled = set(cfg.get("disable", ()))
        self.layers: dict[str, str] = {}
        self.own_pidns = False
        self.uid: int | None = None
        self.ruleset = self.sfilter = None

    # ---- start-up -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Enter namespaces (forking into the new pid namespace), mount, build policies, self-test."""
        host_pid, was_root = os.getpid(), os.geteuid() == 0
        self.own_pidns = isolation.enter_namespaces(self.disabled, self.layers)
        if self.own_pidns:
            pid = os.fork()
            if pid:  # the outer process only waits, like `unshare --fork`
                os.close(self.in_fd)
                os.close(self.out_fd)
                _, status = os.waitpid(pid, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
        if "uid" in self.disabled:
            self.layers["uid"] = "disabled by caller"
        elif was_root:
            self.uid = int(self.cfg.get("uid") or 2_000_000 + host_pid % 1_000_000)
            self.layers["uid"] = f"ok (uid {self.uid})"
        elif self.layers.get("ns_mount") == "ok":
            self.layers["uid"] = "ok (user namespace, no capabilities)"
        else:
            self.layers["uid"] = "needs root or user namespaces"
        isolation.setup_mounts(self.cfg, self.disabled, self.layers, self.uid)
        self.ruleset, self.sfilter = isolation.prepare_policies(self.disabled, self.layers)
        self.layers["rlimits"] = "ok"
        self.layers["no_new_privs"] = "ok"
        self._self_test()

    def _self_test(self) -> None:
        source, checks = isolation.probe_job(self.layers, self.plan(5.0))
        r, w = os.pipe()
        codec.write_all(w, codec.pack({"tests": [c for _, c in checks], "entry_point": None}))
        os.close(w)
        result = self.run_job({"kind": "tests", "source": source, "stdin": "", "timeout": 5.0}, r)
        os.close(r)
        if result["status"] != "pass":
            detail = result["detail"]
            idx = int(detail.split(":")[0].split()[-1]) - 1 if detail.startswith("test ") else None
            layer = checks[idx][0] if idx is not None and idx < len(checks) else "self-test"
            self.layers[layer] = f"self-test failed: {result['status']} {detail}"[:300]

    # ---- jobs -----------------------------------------------------------------------------------------
    def plan(self, timeout: float) -> dict:
        c = self.cfg
        return {"workdir": isolation.WORKDIR, "timeout": timeout, "uid": self.uid,
                "memory_bytes": c["memory_mb"] << 20, "file_bytes": c["file_mb"] << 20,
                "max_files": c["max_files"], "max_procs": c["max_procs"]}

    def run_job(self, job: dict, spec_fd: int) -> dict:
        """Fork the candidate, fork the judge (which reads the spec frame from spec_fd), clean up."""
        t0 = time.monotonic()
        timeout = min(float(job["timeout"]), 3600.0)
        deadline = t0 + timeout
        plan = self.plan(timeout)
        pipes = {k: os.pipe() for k in ("req", "resp", "out", "err", "verdict")}
        stdin_fd = self._stdin(job.get("stdin") or "")
        c_pid = os.fork()
        if c_pid == 0:
            self._child_main(job, plan, pipes, stdin_fd)
        os.close(stdin_fd)
        for k in ("req", "resp", "out", "err"):
            os.close(pipes[k][0] if k == "req" else pipes[k][1])
        pidfd = os.pidfd_open(c_pid)
        j_pid = os.fork()
        if j_pid == 0:
            self._judge_main(job, pipes, pidfd, deadline, spec_fd)
        os.close(pidfd)
        os.close(pipes["verdict"][1])
        for k in ("req", "resp", "out", "err"):
            os.close(pipes[k][1] if k == "req" else pipes[k][0])
        verdict = self._await_judge(j_pid, pipes["verdict"][0], deadline + JUDGE_GRACE_S)
        os.close(pipes["verdict"][0])
        escaped, c_status = self._cleanup(c_pid)
        return _merge(verdict, escaped, c_status, time.monotonic() - t0)

    @staticmethod
    def _stdin(text: str) -> int:
        fd = os.memfd_create("stdin", 0)
        codec.write_all(fd, text.encode())
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def _child_main(self, job, plan, pipes, stdin_fd) -> None:
        try:
            fds = {child.STDIN: stdin_fd, child.STDOUT: pipes["out"][1], child.STDERR: pipes["err"][1],
                   child.REQ: pipes["req"][0], child.RESP: pipes["resp"][1]}
            try:
                child.confine(plan, fds, self.ruleset, self.sfilter)
            except BaseException as e:
                codec.write_all(child.RESP, codec.pack({"t": "confine_error", "detail": repr(e)[:300]}))
                os._exit(70)
            if job["kind"] == "io":
                child.run_program(job["source"])
            else:
                child.serve_calls(job["source"])
        finally:
            os._exit(1)

    def _judge_main(self, job, pipes, pidfd, deadline, spec_fd) -> None:
        code = 0
        try:
            os.close(pipes["verdict"][0])
            spec = codec.read_frame(spec_fd)
            fds = {"req": pipes["req"][1], "resp": pipes["resp"][0], "out": pipes["out"][0],
                   "err": pipes["err"][0], "pidfd": pidfd}
            limits = {"output_bytes": self.cfg["output_bytes"], "response_bytes": self.cfg["response_bytes"]}
            verdict = judge.run_judge(job["kind"], fds, deadline, limits, spec)
            codec.write_all(pipes["verdict"][1], codec.pack(verdict))
        except BaseException as e:
            code = 1
            try:
                msg = {"status": "error", "passed": 0, "total": 1, "detail": f"judge: {type(e).__name__}: {e}"[:300]}
                codec.write_all(pipes["verdict"][1], codec.pack(msg))
            except BaseException:
                pass
        finally:
            os._exit(code)

    @staticmethod
    def _await_judge(j_pid: int, verdict_fd: int, hard_deadline: float) -> dict:
        pidfd = os.pidfd_open(j_pid)
        ready, _, _ = select.select([pidfd], [], [], max(0.0, hard_deadline - time.monotonic()))
        os.close(pidfd)
        if not ready:
            os.kill(j_pid, signal.SIGKILL)
            os.waitpid(j_pid, 0)
            return {"status": "timeout", "passed": 0, "total": 1, "detail": "the test code did not finish"}
        os.waitpid(j_pid, 0)
        try:
            return codec.read_frame(verdict_fd)
        except (EOFError, codec.CodecError):
            return {"status": "error", "passed": 0, "total": 1, "detail": "the judge died without a verdict"}

    def _cleanup(self, c_pid: int) -> tuple[int, int | None]:
        """Kill every process of the job; returns (escaped process count, child's wait status)."""
        escaped = self._count_escaped(c_pid)
        try:
            os.killpg(c_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.own_pidns:
            try:
                os.kill(-1, signal.SIGKILL)  # pid 1 of our namespace: everything else in it, atomically
            except ProcessLookupError:
                pass
        else:
            self._kill_uid()
        c_status = None
        while True:
            try:
                pid, status = os.waitpid(-1, 0 if self.own_pidns else os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == c_pid:
                c_status = status
        self._wipe_scratch()
        return escaped, c_status

    def _job_procs(self):
        """(pid, session id) of live processes that belong to the job (/proc of our pid namespace)."""
        me = os.getpid()
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                uid = os.stat(f"/proc/{name}").st_uid
            except OSError:
                continue
            if fields[0] == b"Z" or (not self.own_pidns and uid != self.uid):
                continue
            yield int(name), int(fields[3])

    def _count_escaped(self, c_pid: int) -> int:
        """Processes other than the child itself still alive when the job ends (daemons, stragglers)."""
        return sum(1 for pid, _ in self._job_procs() if pid != c_pid)

    def _kill_uid(self) -> None:  # pragma: no cover - only without a pid namespace
        for _ in range(100):
            procs = list(self._job_procs()) if self.uid is not None else []
            if not procs:
                return
            for pid, _ in procs:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def _wipe_scratch(self) -> None:
        with os.scandir(isolation.WORKDIR) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        if self.uid is not None:
            os.chown(isolation.WORKDIR, self.uid, self.uid)
        os.chmod(isolation.WORKDIR, 0o700)

    # ---- serving --------------------------------------------------------------------------------------
    def serve(self) -> None:
        codec.write_all(self.out_fd, codec.pack({"t": "hello", "layers": self.layers}))
        while True:
            try:
                job = codec.read_frame(self.in_fd)
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


def _merge(verdict: dict, escaped: int, c_status: int | None, duration: float) -> dict:
    out = {k: verdict.get(k) for k in ("status", "passed", "total", "detail")}
    sig = os.WTERMSIG(c_status) if c_status is not None and os.WIFSIGNALED(c_status) else None
    if out["status"] in ("exited", "fail") and sig == signal.SIGXCPU:
        out["status"], out["detail"] = "timeout", "CPU time limit reached"
    elif out["status"] == "exited" and sig is not None:
        out["detail"] = f"{out['detail']} (killed by {signal.Signals(sig).name})"
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
