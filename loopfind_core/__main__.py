"""``python -m loopfind_core COMMAND`` — see ``loopfind_core.cli``."""

import sys

from .cli import main

sys.exit(main())
