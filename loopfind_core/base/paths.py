"""Where Loopfind reads and writes files: the shipped checkpoints and the cache folder.

Nothing here touches the network: generated data is regenerated from seeds into the cache
folder, and the encoders ship in ``checkpoints/`` next to the package.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]  # the folder holding loopfind_core/
CHECKPOINTS_DIR = PROJECT_DIR / "checkpoints"  # the shipped encoders (checkpoints/README.md)


def cache_dir() -> Path:
    """Where generated data is kept: ``$LOOPFIND_CACHE`` or ``~/.cache/loopfind``."""
    return Path(os.environ.get("LOOPFIND_CACHE") or Path.home() / ".cache" / "loopfind")
