"""Library-scale hunts with the faiss shortlist: does it keep the occurrences, and how fast?

    python scripts/library_scale.py split BENCH_DIR SPLIT_DIR
        every track of a benchmark corpus cut into two halves, ``*_a`` and ``*_b``, with the
        annotations that lie wholly inside each half: a sound repeated across the halves is a
        sound that occurs in two tracks of a library, over the backing the generator gave it.
    python scripts/library_scale.py derive INDEX_DIR --prefix lib1000/ --tracks 1000
        when generating 1,000 tracks of audio takes too long: more distractor tracks, made at
        the feature level from the indexed tracks under ``--prefix`` (4-second chunks of a track
        shuffled, half of them reversed in time, light noise added), until the index holds
        ``--tracks`` tracks besides the others; then the vector index is rebuilt. (A later
        ``index`` run of the folder removes them again.)
    python scripts/library_scale.py rebuild INDEX_DIR [--factory "IVF1270,PQ32"]
        the vector index again, with the default or another faiss index description.
    python scripts/library_scale.py measure SPLIT_DIR INDEX_DIR [--shortlists 4,8,16,32]
        [--exhaustive] [--json OUT]
        [--hunts 16,0] [--per-category 20]
        INDEX_DIR indexes SPLIT_DIR's tracks (alone, or among distractor tracks). For every sound
        found in both halves of a track, the query is its first occurrence in the first half:
        - shortlist coverage (every such sound): the share of its occurrences in the other half
          whose track the shortlist holds;
        - hunt recall (patience 5, simulated user, a spread subset of the queries): exact
          search of the shortlisted tracks, or (size 0) of every indexed track, or (size -1)
          of only the tracks that hold the sound (an oracle shortlist: the upper bound);
        - latency: shortlist lookup; first proposal (lookup, opening the shortlisted tracks and
          the first search); median step.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.spectrogram import FRAME_RATE_HZ  # noqa: E402
from loopfind_core.corpus.dataset import Annotation, Occurrence, read_dataset, write_annotations
from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, matching_occurrence  # noqa: E402
from loopfind_core.library.hunt import hunt_library, open_library  # noqa: E402
from loopfind_core.library.manifest import read_index_manifest  # noqa: E402
from loopfind_core.library.vector_index import (  # noqa: E402
    describe_vectors,
    shortlist,
    track_values,
    update_vector_index,
)


def split_corpus(bench: Path, out: Path) -> None:
    """Cut every track of ``bench`` in two halves (see the module docstring)."""
    dataset = read_dataset(bench)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Annotation] = []
    for file in dataset.files:
        samples, sr_hz = sf.read(dataset.path_of(file), dtype="float32")
        middle = len(samples) // 2
        cut_s = middle / sr_hz
        stem = Path(file).stem
        halves = {f"{stem}_a.flac": (0.0, cut_s, samples[:middle]),
                  f"{stem}_b.flac": (cut_s, len(samples) / sr_hz, samples[middle:])}
        for name, (begin_s, end_s, part) in halves.items():
            sf.write(out / name, part, sr_hz)
            rows += [Annotation(name, a.genre, a.category, a.sound, round(a.start_s - begin_s, 3),
                                round(a.end_s - begin_s, 3))
                     for a in dataset.annotations
                     if a.file == file and begin_s <= a.start_s and a.end_s <= end_s]
    write_annotations(out / "annotations.csv", rows)


@dataclass(frozen=True)
class CrossTrackQuery:
    sound: str
    category: str
    query_file: str
    query: Occurrence
    targets: tuple[tuple[str, Occurrence], ...]  # (file, occurrence): every other occurrence


def cross_track_queries(split: Path) -> list[CrossTrackQuery]:
    """One query per sound that occurs in both halves of its track."""
    sounds = read_dataset(split).sounds()
    by_origin: dict[tuple[str, str], list] = {}
    for sound in sounds:
        by_origin.setdefault((sound.file.rsplit("_", 1)[0], sound.sound), []).append(sound)
    queries = []
    for (_, name), parts in sorted(by_origin.items()):
        first = [p for p in parts if p.file.endswith("_a.flac")]
        if len(parts) != 2 or not first:
            continue
        query = first[0].occurrences[0]
        targets = tuple((p.file, o) for p in parts for o in p.occurrences if o is not query)
        queries.append(CrossTrackQuery(name, first[0].category, first[0].file, query, targets))
    return queries


def simulated_hunt(index: Path, query: CrossTrackQuery, shortlist_tracks: int,
                   patience: int = 5) -> dict:
    """A ground-truth-answered hunt across the library: what it found and how long it took."""
    started = time.perf_counter()
    if shortlist_tracks >= 0:
        hunt = hunt_library(index, query.query_file, query.query.start_s,
                            query.query.duration_s, shortlist_tracks=shortlist_tracks,
                            patience=patience)
        library, session, lookup_s = hunt.library, hunt.session, \
            (hunt.shortlist.seconds if hunt.shortlist else 0.0)
    else:  # the oracle: exactly the tracks that hold the sound
        holding = {f for f, _ in query.targets} | {query.query_file}
        library = open_library(index, names=[n for n in read_index_manifest(index)["tracks"]
                                             if Path(n).name in holding])
        own = next(t.name for t in library.tracks if Path(t.name).name == query.query_file)
        session = library.session(own, query.query.start_s, query.query.duration_s,
                                  patience=patience)
        lookup_s = 0.0
    starts = {Path(t.name).name: t.first_frame / library.features.frame_rate_hz
              for t in library.tracks}
    targets = [Occurrence(starts[f] + o.start_s, starts[f] + o.end_s)
               for f, o in query.targets if f in starts]
    candidate = session.propose()
    first_s = time.perf_counter() - started
    unfound, steps = set(range(len(targets))), []
    needed_s = MATCH_OVERLAP_FRACTION * query.query.duration_s
    while candidate is not None:
        match = matching_occurrence(candidate, targets, unfound, needed_s)
        unfound.discard(match)
        started = time.perf_counter()
        session.answer(match is not None)
        candidate = session.propose()
        steps.append(time.perf_counter() - started)
    return {"category": query.category, "targets": len(query.targets),
            "found": len(targets) - len(unfound), "first_s": first_s,
            "step_s": statistics.median(steps) if steps else 0.0, "lookup_s": lookup_s}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spread_subset(queries: list[CrossTrackQuery], per_category: int) -> list[CrossTrackQuery]:
    """Up to ``per_category`` queries of each category, evenly spread over the corpus."""
    chosen = []
    for category in ("sample", "loop"):
        part = [q for q in queries if q.category == category]
        picks = np.unique(np.linspace(0, len(part) - 1, min(per_category, len(part))).round())
        chosen += [part[int(i)] for i in picks] if part else []
    return chosen


def coverage(index: Path, queries: list[CrossTrackQuery], size: int) -> dict:
    """Per category: the share of target occurrences whose track the shortlist holds."""
    covered = {"sample": [0, 0], "loop": [0, 0]}
    seconds = []
    for query in queries:
        values = track_values(index, query.query_file)
        start = int(round(query.query.start_s * FRAME_RATE_HZ))
        frames = max(1, int(round(query.query.duration_s * FRAME_RATE_HZ)))
        chosen = shortlist(index, values, start, frames, size, own_track=query.query_file)
        seconds.append(chosen.seconds)
        other = [f for f, _ in query.targets if f != query.query_file]
        listed = {Path(name).name for name in chosen.names}
        covered[query.category][0] += sum(f in listed for f in other)
        covered[query.category][1] += len(other)
    return {**{c: round(hit / max(total, 1), 4) for c, (hit, total) in covered.items()},
            "lookup_ms_median": round(1000 * statistics.median(seconds), 1),
            "lookup_ms_p95": round(1000 * float(np.percentile(seconds, 95)), 1)}


def hunt_summary(rows: list[dict]) -> dict:
    summary = {}
    for category in ("sample", "loop"):
        part = [r for r in rows if r["category"] == category]
        summary[category] = round(sum(r["found"] for r in part)
                                  / max(sum(r["targets"] for r in part), 1), 4)
    for key in ("lookup_s", "first_s", "step_s"):
        values = [r[key] for r in rows]
        summary[f"{key}_median"] = round(statistics.median(values), 4)
        summary[f"{key}_p95"] = round(float(np.percentile(values, 95)), 4)
    return summary


def measure(split: Path, index: Path, sizes: list[int], hunt_sizes: list[int],
            per_category: int) -> dict:
    queries = cross_track_queries(split)
    result: dict = {"queries": len(queries), "coverage_of_other_track_occurrences": {},
                    "hunt_recall": {}}
    for size in sizes:
        result["coverage_of_other_track_occurrences"][size] = coverage(index, queries, size)
        print("coverage", size, result["coverage_of_other_track_occurrences"][size], flush=True)
    subset = spread_subset(queries, per_category)
    result["hunt_queries"] = len(subset)
    for size in hunt_sizes:
        rows = [simulated_hunt(index, query, size) for query in subset]
        label = {0: "all", -1: "oracle"}.get(size, size)
        result["hunt_recall"][label] = hunt_summary(rows)
        print("hunt", label, result["hunt_recall"][label], flush=True)
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


DERIVED_CHUNK_FRAMES = 172  # 4.0 s at 43.07 frames/s
DERIVED_NOISE = 0.1  # noise standard deviation, in each dimension's standard deviations


def derived_track(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A distractor from a track's features: its 4-second chunks shuffled, half reversed."""
    chunks = [values[i : i + DERIVED_CHUNK_FRAMES]
              for i in range(0, len(values), DERIVED_CHUNK_FRAMES)]
    order = rng.permutation(len(chunks))
    parts = [chunks[i][::-1] if rng.random() < 0.5 else chunks[i] for i in order]
    out = np.vstack(parts).astype(np.float32)
    out += DERIVED_NOISE * out.std(axis=0) * rng.standard_normal(out.shape).astype(np.float32)
    return out


def derive_tracks(index: Path, prefix: str, tracks: int, seed: int = 0) -> None:
    """Add feature-level distractors derived from the tracks under ``prefix`` until the index
    holds ``tracks`` of them, then bring the vector index up to date."""
    from loopfind_core.library.store import add_feature_tracks
    from loopfind_core.library.vector_index import track_values, update_vector_index

    listed = read_index_manifest(index)["tracks"]
    sources = sorted(n for n in listed if n.startswith(prefix))
    rng = np.random.default_rng(seed)
    derived = []
    for n in range(tracks - len(sources)):
        source = sources[n % len(sources)]
        values = derived_track(track_values(index, source).astype(np.float32), rng)
        derived.append((f"derived/{Path(source).stem}_v{n}.flac", values,
                        listed[source]["duration_s"]))
    add_feature_tracks(index, derived)
    report = update_vector_index(index)
    listed = read_index_manifest(index)["tracks"]
    hours = sum(r["duration_s"] for r in listed.values()) / 3600
    print(f"{len(listed)} tracks, {hours:.1f} h; vector index {report}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    split = commands.add_parser("split")
    split.add_argument("bench", type=Path)
    split.add_argument("out", type=Path)
    derive = commands.add_parser("derive")
    derive.add_argument("index", type=Path)
    derive.add_argument("--prefix", default="lib1000/")
    derive.add_argument("--tracks", type=int, default=1000)
    rebuild = commands.add_parser("rebuild", help="rebuild the vector index with a factory")
    rebuild.add_argument("index", type=Path)
    rebuild.add_argument("--factory", default=None)
    run = commands.add_parser("measure")
    run.add_argument("split", type=Path)
    run.add_argument("index", type=Path)
    run.add_argument("--shortlists", default="4,8,16,32", help="sizes for coverage")
    run.add_argument("--hunts", default="8",
                     help="shortlist sizes to hunt with; 0 = all tracks; -1 = the oracle: only "
                          "the tracks that hold the sound")
    run.add_argument("--per-category", type=int, default=20, help="hunt queries per category")
    run.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "split":
        split_corpus(args.bench, args.out)
        return
    if args.command == "rebuild":
        print(update_vector_index(args.index, args.factory, rebuild=True))
        return
    if args.command == "derive":
        derive_tracks(args.index, args.prefix, args.tracks)
        return
    result = measure(args.split, args.index, [int(s) for s in args.shortlists.split(",")],
                     [int(s) for s in args.hunts.split(",")], args.per_category)
    result["vectors"] = asdict(describe_vectors(args.index))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
