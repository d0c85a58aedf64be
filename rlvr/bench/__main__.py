"""`python -m rlvr.bench rollout|step|sync|cluster [options]`: run one benchmark, print its table, write its JSON."""

from __future__ import annotations

import argparse
import sys

from rlvr.bench import common


def build_parser() -> argparse.ArgumentParser:
    from rlvr.bench import cluster, rollout, step, sync

    parser = argparse.ArgumentParser(prog="python -m rlvr.bench", description=__doc__)
    subs = parser.add_subparsers(dest="benchmark", required=True)
    for name, module in (("rollout", rollout), ("step", step), ("sync", sync), ("cluster", cluster)):
        p = subs.add_parser(name, help=module.__doc__.splitlines()[0])
        p.add_argument("--quick", action="store_true", help="tiny model, few prompts and tokens (CI)")
        p.add_argument("--out", default=None, help=f"JSON path (default results/{name}.json; PNG beside it)")
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    common.set_cpu_env()
    args = build_parser().parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
