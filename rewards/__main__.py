"""`python -m rewards ...`: see `rewards.cli`."""

import sys

from .cli import main

sys.exit(main())
