"""Fixtures of the library tests: folders of short generated tracks, and what an index folder
holds, compared between runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from testkit.audio import SR_HZ, chirp, kick_backing


def short_track(seed: int, duration_s: float = 4.0) -> np.ndarray:
    """Noise, a kick every half second and a chirp: a few seconds of audio."""
    rng = np.random.default_rng(seed)
    samples = kick_backing(rng, duration_s)
    sound = 0.4 * chirp(0.4, 500.0 + 300.0 * seed, 2000.0)
    i = int(rng.uniform(0.5, duration_s - 0.6) * SR_HZ)
    samples[i : i + len(sound)] += sound
    return samples


def write_short_tracks(folder: Path, n: int, duration_s: float = 4.0) -> Path:
    """``n`` short tracks, t0.wav … (t2.wav and on under sub/)."""
    for seed in range(n):
        path = folder / (f"t{seed}.wav" if seed < 2 else f"sub/t{seed}.wav")
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, short_track(seed, duration_s), SR_HZ)
    return folder


@pytest.fixture
def short_music(tmp_path) -> Path:
    """Four tracks of 4 s."""
    return write_short_tracks(tmp_path / "music", 4)


def index_contents(out: Path) -> dict:
    """What an index folder holds, without what differs from run to run (when a row was
    added): the tracks' rows, the settings, the vector index's rows, every feature file's
    bytes and the vector index file's bytes."""
    connection = sqlite3.connect(out / "index.sqlite")
    try:
        tracks = connection.execute("SELECT id, path, hash, size, mtime_ns, frames, duration_s "
                                    "FROM tracks ORDER BY id").fetchall()
        settings = dict(connection.execute("SELECT key, value FROM settings "
                                           "WHERE key NOT IN ('folder', 'folder_absolute')"))
        vectors = connection.execute("SELECT * FROM vector_tracks ORDER BY track_id").fetchall()
    finally:
        connection.close()
    files = {p.name: p.read_bytes() for p in sorted((out / "features").iterdir())}
    faiss_files = {p.name: p.read_bytes() for p in sorted(out.glob("vectors-*.faiss"))}
    return {"tracks": tracks, "settings": settings, "vectors": vectors, "features": files,
            "faiss": faiss_files}
