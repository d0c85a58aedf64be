"""`python -m rewards score|list`: score a JSONL file with any verifier, or list the verifiers.

Input is read and checked in full before anything is scored: a malformed line or a missing field is an
error naming the file, line and field (exit code 2), and nothing is written. Output goes to a temporary
file renamed into place at the end, so a partial OUT.jsonl never pretends to be complete; the temporary
file is removed on any failure. Every output line is strict JSON in valid UTF-8 whatever a verifier put in
`info` or the input held: a lone surrogate becomes U+FFFD, a non-finite float its text ("nan", "inf"),
any other object its `str`, so one odd detail string never loses the batch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
import tempfile
from typing import Any

from .base import MissingFieldError
from .pool import RewardPool
from .registry import UnknownVerifierError, describe, make


class InputError(Exception):
    """A problem with the input file; the message names file and line."""


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--option expects KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def read_rows(path: str, verifier) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{n}: not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
            if not isinstance(row.get("completion"), str):
                raise InputError(f"{path}:{n}: missing field 'completion' (a string)")
            try:
                verifier.check_row(row, where=f"{path}:{n}")
            except MissingFieldError as exc:
                raise InputError(str(exc)) from None
            rows.append(row)
    return rows


def clean(value: Any) -> Any:
    """`value` made writable as strict JSON in UTF-8 (see the module docstring).

    >>> clean({"detail": "a\\ud800b", "x": float("nan"), 1: {2, 3}})
    {'detail': 'a\ufffdb', 'x': 'nan', '1': '{2, 3}'}
    """
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {clean(k if isinstance(k, str) else str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return clean(str(value))


def _line(row: dict[str, Any], score) -> str:
    out = dict(row, reward=None if score is None else score.reward, info=None if score is None else score.info)
    try:
        return json.dumps(clean(out), ensure_ascii=False, allow_nan=False) + "\n"
    except RecursionError:  # a row nested past the recursion limit: keep its score, say why
        info = {"reason": "unwritable_row", "error": "nested too deeply to write"}
        return json.dumps({"reward": None if score is None else score.reward, "info": info}) + "\n"


def _write(lines: list[str], output: str) -> None:
    """Write `lines` to `output` atomically: a temporary file renamed into place, removed on any failure.

    Only a regular file (or a new path) is replaced: renaming onto `/dev/null`, a FIFO or a terminal would
    swap the device node itself for a plain file (as root, for the whole machine), so those are written to
    directly — they have no partial state to protect.
    """
    if os.path.exists(output) and not stat.S_ISREG(os.stat(output).st_mode):
        with open(output, "w", encoding="utf-8") as f:
            f.writelines(lines)
        return
    folder = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".rewards-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp, output)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _score(args: argparse.Namespace) -> int:
    verifier = make(args.verifier, **dict(args.option or []))
    rows = read_rows(args.file, verifier)
    from tqdm import tqdm

    bar = tqdm(total=len(rows), file=sys.stderr, unit="row", disable=len(rows) < 200 or args.quiet)
    with RewardPool(workers=args.workers, timeout_s=args.timeout) as pool:
        scores = pool.submit(verifier, rows, on_item=lambda i, s: bar.update(1)).result()
    bar.close()
    lines = [_line(row, s) for row, s in zip(rows, scores, strict=True)]
    if args.output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write("".join(lines).encode("utf-8"))
        sys.stdout.buffer.flush()
        return 0
    _write(lines, args.output)
    return 0


def _list(args: argparse.Namespace) -> int:
    for row in describe(verbose=args.verbose):
        print(f"{row['name']:16} {row['source']:12} {row['target']}")
        if not args.verbose:
            continue
        if "error" in row:
            print(f"    cannot load: {row['error']}")
            continue
        print(f"    row fields: {', '.join(row['fields']) or '(none beyond the completion)'}")
        print(f"    options:    {_options_text(row['options'])}")
    return 0


def _options_text(options: dict[str, Any] | None) -> str:
    import inspect

    if options is None:
        return "(any keyword; see its docstring)"
    if not options:
        return "(none)"
    return ", ".join(name if default is inspect.Parameter.empty else f"{name}={default!r}"
                     for name, default in options.items())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rewards", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score a JSONL file (one object per line: completion + fields)")
    s.add_argument("file")
    s.add_argument("--verifier", required=True)
    s.add_argument("-o", "--output", help="output JSONL (default: stdout)")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--timeout", type=float, default=10.0, help="seconds per item (hard)")
    s.add_argument("--option", type=_option, action="append", help="verifier option KEY=VALUE (JSON value)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_score)
    ls = sub.add_parser("list", help="list verifiers, plugins included")
    ls.add_argument("-v", "--verbose", action="store_true", help="also each verifier's row fields and options")
    ls.set_defaults(func=_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, UnknownVerifierError, OSError, TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
