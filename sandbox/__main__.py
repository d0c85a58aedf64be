"""CLI: `python -m sandbox check SOLUTION.py --tests TESTS.py [--entry-point NAME] [--timeout S]`
or `python -m sandbox check SOLUTION.py --stdin IN.txt --expect OUT.txt`; `python -m sandbox layers`.

Prints one JSON object (status, passed, total, detail, duration_s). Exit code 0 whatever the verdict,
2 for usage errors (argparse's convention; a tests file that does not compile is one: tests are trusted input,
so a broken one is the caller's mistake, not a verdict on the solution), 1 when the sandbox cannot run here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .pool import Sandbox, SandboxUnavailable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="judge one solution file")
    c.add_argument("solution", type=Path)
    c.add_argument("--tests", type=Path, help="test code (asserts, or HumanEval's check + --entry-point)")
    c.add_argument("--entry-point", default=None)
    c.add_argument("--stdin", type=Path, help="input file for a stdin/stdout problem")
    c.add_argument("--expect", type=Path, help="expected stdout for a stdin/stdout problem")
    c.add_argument("--timeout", type=float, default=5.0)
    c.add_argument("--allow-missing", default="", help="comma-separated layers to run without")
    sub.add_parser("layers", help="start one worker and print which isolation layers hold")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.cmd == "layers":
        with Sandbox(workers=1, allow_missing=__import__("sandbox.isolation").isolation.LAYERS) as sb:
            print(json.dumps(sb.start().layers, indent=1))
        return 0
    io_mode = args.stdin is not None or args.expect is not None
    if io_mode == (args.tests is not None) or (io_mode and (args.stdin is None or args.expect is None)):
        parser.error("give either --tests, or both --stdin and --expect")
    try:
        files = [args.solution] + ([args.stdin, args.expect] if io_mode else [args.tests])
        source, *rest = [f.read_text() for f in files]
    except OSError as e:
        parser.error(str(e))
    if not io_mode:
        try:
            compile(rest[0], str(args.tests), "exec")
        except (SyntaxError, ValueError) as e:
            parser.error(f"{args.tests} does not compile: line {getattr(e, 'lineno', '?')}: {getattr(e, 'msg', e)}")
    allow = [x for x in args.allow_missing.split(",") if x]
    try:
        with Sandbox(workers=1, timeout=args.timeout, allow_missing=allow) as sb:
            r = sb.run_io(source, *rest) if io_mode else sb.run_tests(source, rest[0], args.entry_point)
    except SandboxUnavailable as e:
        print(json.dumps({"status": "unavailable", "passed": 0, "total": 0, "detail": str(e)}))
        return 1
    print(json.dumps(r.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
