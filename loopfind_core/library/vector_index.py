"""A faiss index over a library's features: which tracks are worth an exact search.

An exact hunt across a library (:mod:`loopfind_core.library.hunt`) computes a full distance profile
over every indexed frame for every answer: fine for tens of tracks, hopeless for a thousand
(its time and memory extrapolated to a thousand tracks: docs/results.md §6.4). This module
finds, with one faiss lookup per query block, the few tracks where the query's sound most
likely occurs; the exact search then runs on those tracks only (a *shortlist*).

How it works (audio-fingerprint-style offset voting, over learned or hand-made features):

- every track's frames are cut into blocks of :data:`BLOCK_FRAMES` frames (186 ms) and each
  block is summarised by its mean frame; all block means go into one faiss index
  (exact ``Flat`` for small libraries, ``IVF…,PQ…`` with an inverted file beyond
  :data:`IVF_MIN_BLOCKS` blocks), block ``b`` of the track with database id ``t`` under the id
  ``t << BLOCK_ID_BITS | b``;
- the query window is cut the same way; each query block's nearest library blocks are looked
  up, and each hit votes for the window start it implies (hit block − the query block's
  offset), weighted by its rank, so hits that agree on one start, i.e. the sound's blocks in
  the right order, add up;
- a track's score is its best start's sum of votes (neighbouring starts pooled, since the
  query's blocks need not align with the library's block grid); the top tracks form the
  shortlist, the query's own track always first.

The index is the file ``vectors-<generation>.faiss`` that the database names
(:mod:`loopfind_core.library.database`: settings ``vectors_*`` and the ``vector_tracks`` table
say what it holds). :func:`update_vector_index` follows the tracks without a full rebuild where
faiss allows it: removed or changed tracks' ids are removed (``remove_ids``), new tracks' blocks
added (``add_with_ids``: an ``IDMap`` over ``Flat``, or the trained lists of an IVF index); it
rebuilds only when the kind of index no longer fits (the library crossed
:data:`IVF_MIN_BLOCKS`) or the IVF quantizer was trained on a library more than
:data:`REBUILD_GROWTH` times smaller or larger. Each update writes a new generation and
switches the database to it in one transaction, so a reader sees one consistent index. Its
size and sha256 are recorded (settings ``vectors_bytes``, ``vectors_sha256``): a damaged file
(empty, truncated, overwritten) is rebuilt by the next update (``index``), and a hunt says it
is damaged instead of retrying.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import DatasetError, SelectionError
from loopfind_core.library.database import (
    connect,
    feature_path,
    find_track,
    index_lock,
    read_feature_files,
    read_settings,
    transaction,
    write_settings,
)

BLOCK_FRAMES = 8  # frames per block: 186 ms at 43.07 frames/s, shorter than any sound we hunt
BLOCK_ID_BITS = 24  # a faiss id is track id << 24 | block: 16.7 M blocks (36 days) per track
VECTORS_PREFIX = "vectors-"  # vectors-<generation>.faiss
LEGACY_VECTOR_FILES = ("vectors.faiss", "vectors.json")  # the first layout's, sequential ids
IVF_MIN_BLOCKS = 200_000  # up to this many blocks the index is exact, Flat (docs/results.md §3.1)
TRAINING_BLOCKS_PER_LIST = 64  # k-means training points per inverted list
REBUILD_GROWTH = 2.0  # retrain an IVF index once the library is this many times larger/smaller
NPROBE = 24  # inverted lists visited per query block
HITS_PER_BLOCK = 64  # nearest library blocks looked up per query block
MAX_QUERY_BLOCKS = 32  # longer queries use this many blocks, evenly spread
DEFAULT_SHORTLIST_TRACKS = 8  # tracks an indexed hunt searches exactly (docs/results.md §6.4)


@dataclass(frozen=True)
class VectorIndexReport:
    blocks: int  # vectors in the index
    factory: str  # the faiss index description
    seconds: float  # wall time to build or update it
    bytes: int  # size of the index file
    rebuilt: bool = True  # built from scratch (else: an incremental update of the last one)
    added_blocks: int = 0  # vectors added by this update
    removed_blocks: int = 0  # vectors removed by this update
    tracks: int = 0  # tracks in the index
    repaired: bool = False  # rebuilt because the file was damaged (empty, truncated, changed)


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
    dimensions do not split in fours). The codes take a small fraction of the exact vectors'
    memory and list nearly as many of the right tracks (sizes and coverage: docs/results.md
    §6.4)."""
    if n_blocks < IVF_MIN_BLOCKS:
        return "Flat"
    codes = f"PQ{n_dims // 4}" if n_dims % 4 == 0 else "SQ8"
    return f"IVF{int(np.sqrt(n_blocks))},{codes}"


def block_ids(track_id: int, n_blocks: int) -> np.ndarray:
    """The faiss ids of a track's blocks."""
    if n_blocks >= 1 << BLOCK_ID_BITS:
        raise DatasetError(f"A track of {n_blocks} blocks is too long for the vector index.")
    return (np.int64(track_id) << BLOCK_ID_BITS) + np.arange(n_blocks, dtype=np.int64)


def _track_blocks(out: Path, content_hash: str) -> np.ndarray:
    path = feature_path(out, content_hash)
    try:
        return np.ascontiguousarray(block_means(np.load(path, mmap_mode="r")))
    except FileNotFoundError:
        raise DatasetError(f"{out}: the features {path.name} are missing; run `index` "
                           f"again.") from None


def _training_sample(out: Path, tracks: list[tuple[int, str, int]], size: int,
                     rng: np.random.Generator) -> np.ndarray:
    """About ``size`` block means drawn evenly from every track (for the k-means of IVF)."""
    total = sum(frames // BLOCK_FRAMES for _, _, frames in tracks)
    keep = min(1.0, size / max(total, 1))
    parts = []
    for _, content_hash, _ in tracks:
        blocks = _track_blocks(out, content_hash)
        parts.append(blocks[rng.random(len(blocks)) < keep])
    return np.ascontiguousarray(np.vstack(parts))


def _new_index(out: Path, factory: str, n_dims: int, tracks: list[tuple[int, str, int]]):
    """An empty index of ``factory`` that takes ids, trained on ``tracks`` when it needs it;
    and the number of blocks it was trained on (0: it needs no training)."""
    import faiss

    index = faiss.index_factory(n_dims, factory)
    if faiss.try_extract_index_ivf(index) is None:  # Flat, HNSW…: ids through an IDMap
        index = faiss.index_factory(n_dims, f"IDMap,{factory}")
    if index.is_trained:
        return index, 0
    lists = faiss.extract_index_ivf(index).nlist
    sample = _training_sample(out, tracks, lists * TRAINING_BLOCKS_PER_LIST,
                              np.random.default_rng(0))
    index.train(sample)
    return index, sum(frames // BLOCK_FRAMES for _, _, frames in tracks)


def _needs_rebuild(settings: dict, n_blocks: int, desired: str) -> bool:
    if settings.get("vectors_block_frames") != BLOCK_FRAMES:
        return True
    trained = settings.get("vectors_trained_blocks") or 0
    if not trained:  # untrained (Flat): until the library is large enough for an IVF
        return desired.startswith("IVF") and not settings["vectors_factory"].startswith("IVF")
    return not trained / REBUILD_GROWTH <= n_blocks <= trained * REBUILD_GROWTH


def _write_generation(out: Path, index, generation: int) -> str:
    import faiss

    name = f"{VECTORS_PREFIX}{generation}.faiss"
    partial = out / f"{name}.{os.getpid()}.partial"
    faiss.write_index(index, str(partial))
    os.replace(partial, out / name)
    return name


def _vectors_damaged(out: Path, settings: dict) -> bool:
    """Whether the vector index file the settings name is there but not as written: another
    size or checksum than recorded (``vectors_bytes``, ``vectors_sha256``), or, where an
    earlier version recorded neither, not readable by faiss."""
    from loopfind_core.library.feature_files import file_sha256

    path = out / str(settings.get("vectors_file"))
    if not settings.get("vectors_file") or not path.is_file():
        return False  # missing: built anew anyway
    try:
        if settings.get("vectors_sha256"):
            return (path.stat().st_size != settings.get("vectors_bytes")
                    or file_sha256(path) != settings["vectors_sha256"])
        import faiss

        faiss.read_index(str(path))
    except (OSError, RuntimeError):
        return True
    return False


def _remove_old_files(out: Path, keep: str) -> None:
    for path in out.glob(f"{VECTORS_PREFIX}*.faiss*"):
        if path.name != keep:
            path.unlink(missing_ok=True)
    for name in LEGACY_VECTOR_FILES:
        (out / name).unlink(missing_ok=True)


def update_vector_index(out: str | Path, factory: str | None = None,
                        rebuild: bool = False) -> VectorIndexReport | None:
    """Bring the vector index of library ``out`` up to date with its tracks (see the module
    docstring); None when it already was. ``rebuild``: build it from scratch, with ``factory``
    (a faiss index description) or :func:`index_factory_for`'s.

    Raises:
        DatasetError: no index with tracks, or a track's features are missing."""
    started = time.perf_counter()
    out = Path(out)
    with index_lock(out), connect(out) as connection:
        with transaction(connection, write=False):
            settings = read_settings(connection)
            tracks = connection.execute(
                "SELECT id, hash, frames FROM tracks ORDER BY path").fetchall()
            held = {tid: (h, blocks) for tid, h, blocks in connection.execute(
                "SELECT track_id, hash, blocks FROM vector_tracks")}
        if not tracks:
            raise DatasetError(f"{out} holds no Loopfind index (run `index` first).")
        wanted = {tid: (h, frames // BLOCK_FRAMES) for tid, h, frames in tracks}
        current_file = settings.get("vectors_file")
        damaged = _vectors_damaged(out, settings)
        rebuild = rebuild or damaged
        present = bool(current_file) and (out / current_file).is_file()
        if not rebuild and present and held == wanted \
                and settings.get("vectors_block_frames") == BLOCK_FRAMES:
            return None
        n_blocks = sum(blocks for _, blocks in wanted.values())
        n_dims = int(np.load(feature_path(out, tracks[0][1]), mmap_mode="r").shape[1])
        desired = factory or index_factory_for(n_blocks, n_dims)
        index, removed = None, []
        if not rebuild and present and not _needs_rebuild(settings, n_blocks, desired):
            index = _incremental_start(out / current_file, n_dims, held, wanted)
            removed = [tid for tid, (h, _) in held.items() if wanted.get(tid, (None,))[0] != h]
        rebuilt = index is None
        if rebuilt:
            index, trained = _new_index(out, desired, n_dims, tracks)
            held, removed = {}, []
            settings |= {"vectors_factory": desired, "vectors_trained_blocks": trained}
        added = [(tid, h) for tid, h, _ in tracks if held.get(tid, (None,))[0] != h]
        for track_id, content_hash in added:
            blocks = _track_blocks(out, content_hash)
            index.add_with_ids(blocks, block_ids(track_id, len(blocks)))
        generation = int(settings.get("vectors_generation", 0)) + 1
        name = _write_generation(out, index, generation)
        with transaction(connection):
            if rebuilt:
                connection.execute("DELETE FROM vector_tracks")
            connection.executemany("DELETE FROM vector_tracks WHERE track_id = ?",
                                   [(tid,) for tid in removed])
            connection.executemany(
                "INSERT OR REPLACE INTO vector_tracks (track_id, hash, blocks) VALUES (?, ?, ?)",
                [(tid, h, wanted[tid][1]) for tid, h in added])
            from loopfind_core.library.feature_files import file_sha256

            write_settings(connection, {
                "vectors_file": name, "vectors_generation": generation,
                "vectors_bytes": (out / name).stat().st_size,
                "vectors_sha256": file_sha256(out / name),
                "vectors_factory": settings["vectors_factory"],
                "vectors_trained_blocks": settings["vectors_trained_blocks"],
                "vectors_block_frames": BLOCK_FRAMES})
        _remove_old_files(out, name)
    return VectorIndexReport(
        int(index.ntotal), settings["vectors_factory"], time.perf_counter() - started,
        (out / name).stat().st_size, rebuilt=rebuilt,
        added_blocks=sum(wanted[tid][1] for tid, _ in added),
        removed_blocks=sum(held[tid][1] for tid in removed), tracks=len(tracks),
        repaired=damaged)


def _incremental_start(path: Path, n_dims: int, held: dict, wanted: dict):
    """The index at ``path`` with the blocks of tracks no longer ``wanted`` (removed, or with
    other content) removed; None when faiss cannot remove from it (then: rebuild)."""
    import faiss

    try:
        index = faiss.read_index(str(path))
    except RuntimeError:  # unreadable: rebuild
        return None
    if index.d != n_dims:
        return None
    stale = [block_ids(tid, blocks) for tid, (h, blocks) in held.items()
             if wanted.get(tid, (None,))[0] != h]
    if stale:
        ids = np.concatenate(stale)
        try:
            removed = index.remove_ids(ids)
        except RuntimeError:  # e.g. HNSW: no removal
            return None
        if removed != len(ids):
            return None
    return index


def build_vector_index(out: str | Path, factory: str | None = None) -> VectorIndexReport:
    """Rebuild the faiss index of block means over every track of the library ``out`` from
    scratch; ``factory``: a faiss index description instead of :func:`index_factory_for`'s."""
    return update_vector_index(out, factory, rebuild=True)


def describe_vectors(out: str | Path) -> VectorIndexReport:
    """What the vector index of ``out`` holds (``seconds`` 0: nothing was built).

    Raises:
        DatasetError: it has none."""
    out = Path(out)
    with connect(out) as connection, transaction(connection, write=False):
        settings = read_settings(connection)
        tracks, blocks = connection.execute(
            "SELECT count(*), total(blocks) FROM vector_tracks").fetchone()
    if not settings.get("vectors_file") or not (out / settings["vectors_file"]).is_file():
        raise DatasetError(f"{out} has no vector index; run `index` on it again.")
    return VectorIndexReport(int(blocks), settings["vectors_factory"], 0.0,
                             (out / settings["vectors_file"]).stat().st_size, rebuilt=False,
                             tracks=tracks)


_CURRENT_SQL = """
SELECT (SELECT count(*) FROM tracks) > 0
   AND (SELECT count(*) FROM tracks) = (SELECT count(*) FROM vector_tracks)
   AND NOT EXISTS (SELECT 1 FROM tracks t LEFT JOIN vector_tracks v
                   ON v.track_id = t.id AND v.hash = t.hash WHERE v.track_id IS NULL)
"""


def _is_current(out: Path, connection, settings: dict) -> bool:
    return (bool(settings.get("vectors_file")) and (out / settings["vectors_file"]).is_file()
            and settings.get("vectors_block_frames") == BLOCK_FRAMES
            and bool(connection.execute(_CURRENT_SQL).fetchone()[0]))


def vectors_are_current(out: str | Path) -> bool:
    """True if ``out`` has a vector index that covers exactly its indexed tracks."""
    out = Path(out)
    try:
        with connect(out) as connection, transaction(connection, write=False):
            return _is_current(out, connection, read_settings(connection))
    except DatasetError:
        return False


@dataclass(frozen=True, eq=False)
class _LoadedVectors:
    index: object  # a faiss.Index
    names: tuple[str, ...]  # in path order
    hashes: tuple[str, ...]
    first_blocks: np.ndarray  # int64, first block of each track on one axis, ascending
    sorted_ids: np.ndarray  # the tracks' database ids, ascending
    id_order: np.ndarray  # position in ``names`` of each of sorted_ids

    def global_blocks(self, faiss_ids: np.ndarray) -> np.ndarray:
        """faiss ids → blocks on one axis, the tracks end to end in path order (−1 stays)."""
        valid = faiss_ids >= 0
        track_ids = np.where(valid, faiss_ids >> BLOCK_ID_BITS, 0)
        at = np.clip(np.searchsorted(self.sorted_ids, track_ids), 0, len(self.sorted_ids) - 1)
        valid &= self.sorted_ids[at] == track_ids
        blocks = self.first_blocks[self.id_order[at]] + (faiss_ids & ((1 << BLOCK_ID_BITS) - 1))
        return np.where(valid, blocks, -1)


_cache: dict[tuple[str, str, int], _LoadedVectors] = {}
_cache_guard = threading.Lock()
_CACHED_INDEXES = 2


def _read_vectors(out: Path, connection, name: str) -> _LoadedVectors:
    import faiss

    index = faiss.read_index(str(out / name))  # RuntimeError when it was just replaced
    if hasattr(index, "nprobe"):
        index.nprobe = NPROBE
    elif (ivf := faiss.try_extract_index_ivf(index)) is not None:
        ivf.nprobe = NPROBE
    rows = connection.execute(
        "SELECT t.path, t.hash, t.id, v.blocks FROM tracks t "
        "JOIN vector_tracks v ON v.track_id = t.id ORDER BY t.path").fetchall()
    names, hashes, ids, blocks = zip(*rows, strict=True)
    ids = np.asarray(ids, dtype=np.int64)
    first_blocks = np.concatenate([[0], np.cumsum(blocks)[:-1]]).astype(np.int64)
    order = np.argsort(ids, kind="stable")
    return _LoadedVectors(index, names, hashes, first_blocks, ids[order], order)


def _loaded(out: Path) -> _LoadedVectors:
    """The vector index of ``out`` as the database names it now (cached per file).

    Raises:
        DatasetError: there is none that covers the tracks, or its file is damaged (it fails
            to read twice as the same file: not a concurrent update replacing it)."""
    failed: set[tuple[str, str, int]] = set()
    for _ in range(5):  # a concurrent update may replace the file between two reads
        with connect(out) as connection, transaction(connection, write=False):
            settings = read_settings(connection)
            if not _is_current(out, connection, settings):
                raise DatasetError(f"{out} has no current vector index; run `index` on it "
                                   f"again.")
            name = settings["vectors_file"]
            try:
                key = (str(out.resolve()), name, (out / name).stat().st_mtime_ns)
            except FileNotFoundError:
                continue
            with _cache_guard:
                if key in _cache:
                    return _cache[key]
            try:
                loaded = _read_vectors(out, connection, name)
            except RuntimeError:
                if key in failed:
                    raise DatasetError(
                        "The library's vector index file is damaged (empty, truncated or "
                        "overwritten); run `loopfind index` on the library's folder again to "
                        "rebuild it.") from None
                failed.add(key)
                continue
        with _cache_guard:
            while len(_cache) >= _CACHED_INDEXES:
                _cache.pop(next(iter(_cache)))
            _cache[key] = loaded
        return loaded
    raise DatasetError(f"{out}: its vector index keeps changing; try again.")


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
    tracks = tracks[inside]
    scores = np.zeros(len(first_blocks))
    if len(starts) == 0:
        return scores
    # the best vote of each query block for each start, its neighbours' votes pooled in
    # (within the hit's own track: a vote never spills into the track before or after)
    spread = np.concatenate([starts - 1, starts, starts + 1])
    spread_tracks = np.tile(tracks, 3)
    ends = np.append(first_blocks[1:], np.iinfo(np.int64).max)
    own = (spread >= first_blocks[spread_tracks]) & (spread < ends[spread_tracks])
    keys = (spread * n_queries + np.tile(queries, 3))[own]
    weights = np.tile(weights, 3)[own]
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
    """The stored features of the indexed track ``name`` (memory-mapped, float16).

    Raises:
        SelectionError: it is not indexed; DatasetError: its feature file is damaged."""
    from loopfind_core.library.feature_files import load_checked

    out = Path(out)
    with connect(out) as connection:
        row = find_track(connection, name)
        recorded = read_feature_files(connection).get(row.hash) if row is not None else None
    if row is None:
        raise SelectionError(f"{name!r} is not in the index.")
    return load_checked(out, row, recorded)


def shortlist(
    out: str | Path, query_values: np.ndarray, start_frame: int, window_frames: int,
    max_tracks: int = DEFAULT_SHORTLIST_TRACKS, own_track: str | None = None,
) -> Shortlist:
    """The ``max_tracks`` tracks of library ``out`` most likely to hold the sound in frames
    [start_frame, start_frame + window_frames) of ``query_values`` (the same feature kind as
    the library's). ``own_track``: the indexed track the query comes from, listed first."""
    from loopfind_core.library.database import is_track

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
    _, hits = vectors.index.search(blocks, min(HITS_PER_BLOCK, vectors.index.ntotal))
    scores = track_scores(vectors.global_blocks(hits), offsets, vectors.first_blocks)
    own = [i for i, name in enumerate(vectors.names)
           if own_track is not None and is_track(name, own_track)]
    ranked = [i for i in np.argsort(-scores, kind="stable") if i not in own and scores[i] > 0]
    chosen = [*own[:1], *ranked][:max_tracks]
    return Shortlist(tuple(vectors.names[i] for i in chosen),
                     tuple(round(float(scores[i]), 3) for i in chosen),
                     time.perf_counter() - started)
