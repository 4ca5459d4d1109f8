"""A faiss index over a library's features: which tracks are worth an exact search.

An exact hunt across a library (:mod:`loopfind_core.library.hunt`) computes a full distance profile
over every indexed frame for every answer: fine for tens of tracks, hopeless for a thousand
(about 47 s per proposal and 36 GB, docs/results.md §6.4). This module finds, in milliseconds,
the few tracks where the query's sound most likely occurs; the exact search then runs on those
tracks only (a *shortlist*).

How it works (audio-fingerprint-style offset voting, over learned or hand-made features):

- every track's frames are cut into blocks of :data:`BLOCK_FRAMES` frames (186 ms) and each
  block is summarised by its mean frame; all block means go into one faiss index
  (exact ``Flat`` for small libraries, ``IVF…,Flat`` with an inverted file beyond
  :data:`IVF_MIN_BLOCKS` blocks);
- the query window is cut the same way; each query block's nearest library blocks are looked
  up, and each hit votes for the window start it implies (hit block − the query block's
  offset), weighted by its rank, so hits that agree on one start, i.e. the sound's blocks in
  the right order, add up;
- a track's score is its best start's sum of votes (neighbouring starts pooled, since the
  query's blocks need not align with the library's block grid); the top tracks form the
  shortlist, the query's own track always first.

The index lives next to the library's manifest (``vectors.faiss`` and ``vectors.json``) and is
rebuilt by :func:`build_vector_index` whenever the indexed tracks change.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import DatasetError, SelectionError
from loopfind_core.library.manifest import is_track

BLOCK_FRAMES = 8  # frames per block: 186 ms at 43.07 frames/s, shorter than any sound we hunt
VECTORS_FILE = "vectors.faiss"
VECTORS_MANIFEST = "vectors.json"
IVF_MIN_BLOCKS = 200_000  # below this an exact flat index is fast enough (< 50 ms a query)
TRAINING_BLOCKS_PER_LIST = 64  # k-means training points per inverted list
NPROBE = 24  # inverted lists visited per query block
HITS_PER_BLOCK = 64  # nearest library blocks looked up per query block
MAX_QUERY_BLOCKS = 32  # longer queries use this many blocks, evenly spread
DEFAULT_SHORTLIST_TRACKS = 8  # tracks an indexed hunt searches exactly (docs/results.md §6.4)


@dataclass(frozen=True)
class VectorIndexReport:
    blocks: int  # vectors in the index
    factory: str  # the faiss index description
    seconds: float  # wall time to build it
    bytes: int  # size of the index file


@dataclass(frozen=True)
class Shortlist:
    """The tracks an indexed hunt searches exactly, best first (the query's track first)."""

    names: tuple[str, ...]
    scores: tuple[float, ...]  # each track's best start's score (see track_scores)
    seconds: float  # wall time of the lookup


def block_means(values: np.ndarray, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """(n_frames, n_dims) → (n_frames // block_frames, n_dims) float32 means of whole blocks."""
    n_blocks = len(values) // block_frames
    blocks = np.asarray(values[: n_blocks * block_frames], dtype=np.float32)
    return blocks.reshape(n_blocks, block_frames, -1).mean(axis=1)


def index_factory_for(n_blocks: int, n_dims: int) -> str:
    """The faiss index description for ``n_blocks`` vectors of ``n_dims``: exact when that is
    cheap enough, else an inverted file of √n lists (each query visits :data:`NPROBE`) holding
    product-quantised codes of one byte per 4 dimensions (8-bit scalar codes when the
    dimensions do not split in fours). At 1.6 M blocks of 128 dimensions the codes take 65 MB
    where exact vectors take 841 MB, and list as many of the right tracks (docs/results.md
    §6.4)."""
    if n_blocks < IVF_MIN_BLOCKS:
        return "Flat"
    codes = f"PQ{n_dims // 4}" if n_dims % 4 == 0 else "SQ8"
    return f"IVF{int(np.sqrt(n_blocks))},{codes}"


def _track_records(out: Path) -> list[tuple[str, str, int]]:
    """(name, content hash, frames) of every indexed track, in name order."""
    from loopfind_core.library.manifest import read_index_manifest

    manifest = read_index_manifest(out)
    return [(name, record["hash"], record["frames"])
            for name, record in sorted(manifest["tracks"].items())]


def _feature_path(out: Path, content_hash: str) -> Path:
    from loopfind_core.library.manifest import FEATURES_FOLDER

    return out / FEATURES_FOLDER / f"{content_hash}.npy"


def _training_sample(out: Path, records: list[tuple[str, str, int]], size: int,
                     rng: np.random.Generator) -> np.ndarray:
    """About ``size`` block means drawn evenly from every track (for the k-means of IVF)."""
    total = sum(frames // BLOCK_FRAMES for _, _, frames in records)
    keep = min(1.0, size / max(total, 1))
    parts = []
    for _, content_hash, _ in records:
        blocks = block_means(np.load(_feature_path(out, content_hash), mmap_mode="r"))
        parts.append(blocks[rng.random(len(blocks)) < keep])
    return np.ascontiguousarray(np.vstack(parts))


def build_vector_index(out: str | Path, factory: str | None = None) -> VectorIndexReport:
    """(Re)build the faiss index of block means over every track of the library ``out``;
    ``factory``: a faiss index description instead of :func:`index_factory_for`'s."""
    import faiss

    started = time.perf_counter()
    out = Path(out)
    records = _track_records(out)  # raises DatasetError when there is none
    n_blocks = sum(frames // BLOCK_FRAMES for _, _, frames in records)
    n_dims = int(np.load(_feature_path(out, records[0][1]), mmap_mode="r").shape[1])
    factory = factory or index_factory_for(n_blocks, n_dims)
    index = faiss.index_factory(n_dims, factory)
    if not index.is_trained:
        lists = faiss.extract_index_ivf(index).nlist
        sample = _training_sample(out, records, lists * TRAINING_BLOCKS_PER_LIST,
                                  np.random.default_rng(0))
        index.train(sample)
    tracks, first_block = [], 0
    for name, content_hash, _ in records:
        blocks = block_means(np.load(_feature_path(out, content_hash), mmap_mode="r"))
        index.add(np.ascontiguousarray(blocks))
        tracks.append([name, content_hash, first_block, len(blocks)])
        first_block += len(blocks)
    partial = out / f"{VECTORS_FILE}.{os.getpid()}.partial"
    faiss.write_index(index, str(partial))
    os.replace(partial, out / VECTORS_FILE)
    manifest = {"block_frames": BLOCK_FRAMES, "factory": factory, "tracks": tracks}
    partial = out / f"{VECTORS_MANIFEST}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest))
    os.replace(partial, out / VECTORS_MANIFEST)
    return VectorIndexReport(n_blocks, factory, time.perf_counter() - started,
                             (out / VECTORS_FILE).stat().st_size)


@dataclass(frozen=True, eq=False)
class _LoadedVectors:
    index: object  # a faiss.Index
    names: tuple[str, ...]
    hashes: tuple[str, ...]
    first_blocks: np.ndarray  # int64, first block of each track, ascending


@lru_cache(maxsize=2)
def _load_vectors(out: str, stamp: tuple[int, int]) -> _LoadedVectors:
    """The index of library ``out`` (``stamp`` = the files' mtimes, so a rebuild reloads)."""
    import faiss

    manifest = json.loads((Path(out) / VECTORS_MANIFEST).read_text())
    if manifest.get("block_frames") != BLOCK_FRAMES:
        raise DatasetError(f"{out}: its vector index uses another block size; run `index` again.")
    index = faiss.read_index(str(Path(out) / VECTORS_FILE))
    if hasattr(index, "nprobe"):
        index.nprobe = NPROBE
    names, hashes, firsts, _ = zip(*manifest["tracks"], strict=True)
    return _LoadedVectors(index, names, hashes, np.asarray(firsts, dtype=np.int64))


def vectors_are_current(out: str | Path) -> bool:
    """True if ``out`` has a vector index that covers exactly its indexed tracks."""
    out = Path(out)
    if not (out / VECTORS_FILE).is_file() or not (out / VECTORS_MANIFEST).is_file():
        return False
    try:
        tracks = json.loads((out / VECTORS_MANIFEST).read_text())["tracks"]
    except (OSError, ValueError, KeyError):
        return False
    return [(name, h) for name, h, *_ in tracks] == [(n, h) for n, h, _ in _track_records(out)]


def _loaded(out: Path) -> _LoadedVectors:
    if not vectors_are_current(out):
        raise DatasetError(f"{out} has no current vector index; run `index` on it again.")
    stamp = ((out / VECTORS_FILE).stat().st_mtime_ns, (out / VECTORS_MANIFEST).stat().st_mtime_ns)
    return _load_vectors(str(out), stamp)


def query_blocks(values: np.ndarray, start_frame: int, window_frames: int) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """The query window's block means and each block's offset from the window start (blocks).

    A window shorter than a block is one block of its own length; a long one is represented
    by at most :data:`MAX_QUERY_BLOCKS` blocks spread evenly over it."""
    window = np.asarray(values[start_frame : start_frame + window_frames], dtype=np.float32)
    if window_frames < BLOCK_FRAMES:
        return window.mean(axis=0, keepdims=True), np.zeros(1, dtype=np.int64)
    blocks = block_means(window)
    offsets = np.arange(len(blocks), dtype=np.int64)
    if len(blocks) > MAX_QUERY_BLOCKS:
        keep = np.unique(np.linspace(0, len(blocks) - 1, MAX_QUERY_BLOCKS).round().astype(int))
        blocks, offsets = blocks[keep], offsets[keep]
    return np.ascontiguousarray(blocks), offsets


def track_scores(hit_blocks: np.ndarray, query_offsets: np.ndarray,
                 first_blocks: np.ndarray) -> np.ndarray:
    """Each track's best start's score, shape (n_tracks,): how many query blocks agree on it.

    ``hit_blocks`` (n_query_blocks, k): the library blocks found for each query block, nearest
    first (−1 for none); ``query_offsets`` (n_query_blocks,): each query block's offset in
    blocks. A hit at block b for the query block at offset j votes for the start b − j, with
    weight 1 − rank / k (the nearest hit weighs 1, so short queries of one or two blocks still
    rank tracks by how close their best match is). A start sums, over query blocks, the best
    vote each gives it or a neighbouring start (block grids need not align)."""
    n_queries, k = hit_blocks.shape
    hits = hit_blocks.ravel()
    weights = np.tile(1.0 - np.arange(k) / k, n_queries)
    offsets = np.repeat(query_offsets, k)
    queries = np.repeat(np.arange(n_queries), k)
    valid = hits >= 0
    hits, weights, offsets, queries = hits[valid], weights[valid], offsets[valid], queries[valid]
    tracks = np.searchsorted(first_blocks, hits, side="right") - 1
    starts = hits - offsets
    inside = starts >= first_blocks[tracks]  # the implied start lies in the hit's own track
    starts, weights, queries = starts[inside], weights[inside], queries[inside]
    scores = np.zeros(len(first_blocks))
    if len(starts) == 0:
        return scores
    # the best vote of each query block for each start, its neighbours' votes pooled in
    spread = np.concatenate([starts - 1, starts, starts + 1])
    keys = spread * n_queries + np.tile(queries, 3)
    weights = np.tile(weights, 3)
    order = np.lexsort((-weights, keys))
    keys, weights = keys[order], weights[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    best_starts, best_weights = keys[first] // n_queries, weights[first]
    candidate_starts, position = np.unique(best_starts, return_inverse=True)
    start_scores = np.bincount(position, weights=best_weights)
    owner_tracks = np.clip(np.searchsorted(first_blocks, candidate_starts, side="right") - 1,
                           0, len(first_blocks) - 1)
    np.maximum.at(scores, owner_tracks, start_scores)
    return scores


def track_values(out: str | Path, name: str) -> np.ndarray:
    """The stored features of the indexed track ``name`` (memory-mapped, float16)."""
    vectors = _loaded(Path(out))
    for track_name, content_hash in zip(vectors.names, vectors.hashes, strict=True):
        if is_track(track_name, name):
            return np.load(_feature_path(Path(out), content_hash), mmap_mode="r")
    raise SelectionError(f"{name!r} is not in the index.")


def shortlist(
    out: str | Path, query_values: np.ndarray, start_frame: int, window_frames: int,
    max_tracks: int = DEFAULT_SHORTLIST_TRACKS, own_track: str | None = None,
) -> Shortlist:
    """The ``max_tracks`` tracks of library ``out`` most likely to hold the sound in frames
    [start_frame, start_frame + window_frames) of ``query_values`` (the same feature kind as
    the library's). ``own_track``: the indexed track the query comes from, listed first."""
    if max_tracks < 1:
        raise SelectionError(f"A shortlist needs at least 1 track, not {max_tracks}.")
    if not (window_frames >= 1 and 0 <= start_frame
            and start_frame + window_frames <= len(query_values)):
        raise SelectionError("The query window lies outside its track.")
    started = time.perf_counter()
    vectors = _loaded(Path(out))
    if query_values.shape[1] != vectors.index.d:
        raise SelectionError(f"The query has {query_values.shape[1]} feature dimensions; the "
                             f"library has {vectors.index.d}.")
    blocks, offsets = query_blocks(query_values, start_frame, window_frames)
    _, hit_blocks = vectors.index.search(blocks, min(HITS_PER_BLOCK, vectors.index.ntotal))
    scores = track_scores(hit_blocks, offsets, vectors.first_blocks)
    own = [i for i, name in enumerate(vectors.names)
           if own_track is not None and is_track(name, own_track)]
    ranked = [i for i in np.argsort(-scores, kind="stable") if i not in own and scores[i] > 0]
    chosen = [*own[:1], *ranked][:max_tracks]
    return Shortlist(tuple(vectors.names[i] for i in chosen),
                     tuple(round(float(scores[i]), 3) for i in chosen),
                     time.perf_counter() - started)
