"""Where Loopfind reads and writes files: the shipped checkpoints and the cache folder.

Nothing here touches the network: generated data is regenerated from seeds into the cache
folder, and the encoders ship with the package. In a checkout they are the top-level
``checkpoints/`` folder; an installed wheel carries the same files as
``loopfind_core/checkpoints/`` (``pyproject.toml`` maps one onto the other), so the default
encoder is found from any working folder either way.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # loopfind_core/, installed or checked out


def _shipped_checkpoints() -> Path:
    """``loopfind_core/checkpoints`` when installed from a wheel, else the checkout's
    ``checkpoints/`` beside the package (a checkout or an editable install)."""
    installed = PACKAGE_DIR / "checkpoints"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "checkpoints"


CHECKPOINTS_DIR = _shipped_checkpoints()  # the shipped encoders (checkpoints/README.md)


def cache_dir() -> Path:
    """Where generated data is kept: ``$LOOPFIND_CACHE`` or ``~/.cache/loopfind``."""
    return Path(os.environ.get("LOOPFIND_CACHE") or Path.home() / ".cache" / "loopfind")
