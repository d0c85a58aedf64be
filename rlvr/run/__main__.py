"""`python -m rlvr.run CONFIG [section.key=value ...]`: see `rlvr.run.cli`."""

import sys

from rlvr.run.cli import main

sys.exit(main())
