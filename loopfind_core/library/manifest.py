"""The on-disk layout of a library index: ``index.json`` (the manifest), ``features/``.

``index.json`` lists every indexed track by its path relative to the indexed folder, with its
content hash (sha256), size, modification time, frames and duration (seconds), and the feature
kind and whitening of the whole index. Features are ``features/<content hash>.npy`` (float16,
(n_frames, n_dims)). Everything that reads or writes that layout is here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from loopfind_core.base.errors import DatasetError

INDEX_FILE = "index.json"
INDEX_VERSION = 1
FEATURES_FOLDER = "features"


def _read_manifest(out: Path, kind: str, whiten: float | None) -> dict:
    path = out / INDEX_FILE
    if not path.is_file():
        return {"version": INDEX_VERSION, "kind": kind, "whiten": whiten, "tracks": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable Loopfind index ({error}).") from error
    if manifest.get("version") != INDEX_VERSION:
        raise DatasetError(f"{path} has index version {manifest.get('version')!r}; this "
                           f"Loopfind reads version {INDEX_VERSION}. Index into a new folder.")
    if manifest.get("kind") != kind or manifest.get("whiten") != whiten:
        raise DatasetError(
            f"{path} holds {manifest.get('kind')} features (whiten {manifest.get('whiten')}); "
            f"asked for {kind} (whiten {whiten}). Index into a new folder."
        )
    return manifest


def _write_manifest(out: Path, manifest: dict) -> None:
    partial = out / f"{INDEX_FILE}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(partial, out / INDEX_FILE)


def read_index_manifest(out: str | Path) -> dict:
    """The manifest of the index ``out`` (see :func:`build_index`).

    Raises:
        DatasetError: ``out`` holds no readable index with at least one track."""
    path = Path(out) / INDEX_FILE
    try:
        manifest = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable Loopfind index ({error}).") from error
    if not isinstance(manifest, dict) or not manifest.get("tracks"):
        raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
    return manifest


def track_audio_path(out: str | Path, name: str) -> Path:
    """The audio file of the indexed track ``name`` (for listening to a candidate).

    Raises:
        DatasetError: the index does not say where its tracks are, or the file is gone."""
    manifest = read_index_manifest(out)
    if name not in manifest["tracks"] or not manifest.get("folder"):
        raise DatasetError(f"The index does not know where {name!r} is; run `index` again.")
    folder = Path(manifest["folder"])
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise DatasetError(f"{name!r} is no longer in {folder.name}; run `index` again.")
    return path


def is_track(indexed_name: str, asked: str) -> bool:
    """True if ``asked`` names the indexed track: its path in the index, or its file name."""
    return indexed_name == asked or Path(indexed_name).name == asked


def track_hashes(manifest: Mapping) -> dict[str, str]:
    """Every indexed track's name (path relative to the indexed folder) → its content hash."""
    return {name: record["hash"] for name, record in manifest["tracks"].items()}


def track_with_hash(hashes: Mapping[str, str], content_hash: str) -> str | None:
    """The indexed track whose audio file has ``content_hash`` (sha256; the first by name when
    the same file is indexed twice), or None: a track is found by its content, not its name."""
    return next((name for name, indexed in sorted(hashes.items()) if indexed == content_hash),
                None)
