"""`python -m rlvr.report RUN_DIR`: rebuild a run's report.md + PNGs from its metrics.jsonl (see rlvr.health.report)."""

import sys

from rlvr.health.report import main

if __name__ == "__main__":
    sys.exit(main())
