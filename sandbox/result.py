"""The verdict type returned by the sandbox: a frozen dataclass of plain values.

Only `status == "pass"` means the candidate passed; every other status names how it did not. `passed` and
`total` count executed checks for one string of test code, tests for a list of tests (judge.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STATUSES = (
    "pass",                # every test passed, judged outside the candidate's process
    "fail",                # a test failed, or the candidate raised, or (I/O) wrong output / bad exit
    "no_checks",           # nothing failed, but no check ran (in some test): never a pass
    "timeout",             # wall-clock or CPU limit reached
    "output_limit",        # printed more than the output cap
    "load_error",          # the source did not load (syntax error, exception at import, missing entry point)
    "exited",              # the candidate's process ended before the tests were done (exit(0) included)
    "response_too_large",  # a return value over the response cap
    "bad_response",        # bytes from the candidate that are not a valid answer (forged frames)
    "escaped_processes",   # processes (e.g. daemons) outlived the job; they were killed
    "error",               # the sandbox itself failed on this job; not the candidate's verdict
)


@dataclass(frozen=True)
class Result:
    """Outcome of one job: `status` (see STATUSES), tests `passed` of `total`, a short `detail`."""

    status: str
    passed: int = 0
    total: int = 0
    detail: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        return asdict(self)
