"""``python -m loopfind_core COMMAND`` — see ``loopfind_core.cli``."""

import sys

from loopfind_core.cli import main

sys.exit(main())
