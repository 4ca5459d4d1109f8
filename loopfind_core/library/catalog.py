"""Which library a server offers: the index folder an operator names in ``$LOOPFIND_LIBRARY``,
else the demo library (:mod:`loopfind_core.library.demo`) once it is built. Only the server
chooses the folder: a browser never names a path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.library.demo import demo_library_dir
from loopfind_core.library.manifest import read_index_manifest, track_hashes, track_with_hash

LIBRARY_ENV = "LOOPFIND_LIBRARY"  # an index folder built by `python -m loopfind_core index`
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class LibraryInfo:
    """What a library index holds, from its manifest."""

    path: Path  # the index folder
    track_hashes: Mapping[str, str]  # name in the index → content hash (sha256)
    hours: float  # total duration of the indexed tracks
    kind: str  # the feature kind of the index
    whiten: float | None  # the whitening shrinkage of its features (None: raw)
    demo: bool  # the built-in demo library, not one the server's operator set up

    def track_with_hash(self, content_hash: str) -> str | None:
        """The indexed track with this content (sha256 of its file), or None."""
        return track_with_hash(self.track_hashes, content_hash)


def describe_index(path: str | Path, demo: bool = False) -> LibraryInfo:
    """The :class:`LibraryInfo` of the index folder ``path``.

    Raises:
        DatasetError: ``path`` holds no readable index with at least one track."""
    manifest = read_index_manifest(path)
    seconds = sum(record["duration_s"] for record in manifest["tracks"].values())
    return LibraryInfo(Path(path), track_hashes(manifest), seconds / SECONDS_PER_HOUR,
                       manifest["kind"], manifest["whiten"], demo)


def find_library(demo_kind: str, environ: Mapping[str, str] = os.environ) -> LibraryInfo | None:
    """The server's library (``environ[LOOPFIND_LIBRARY]``), else the demo library indexed with
    ``demo_kind`` features once it is built, else None.

    Raises:
        DatasetError: ``$LOOPFIND_LIBRARY`` names a folder without a readable index (an
            operator's mistake, said rather than hidden)."""
    configured = environ.get(LIBRARY_ENV)
    if configured:
        return describe_index(configured)
    try:
        return describe_index(demo_library_dir(demo_kind), demo=True)
    except LoopfindError:
        return None
