"""Build the real-music corpus: render every module of the sources, label it, write the splits.

Layout under ``out``::

    dev/annotations.csv, dev/<song>.wav        the split choices are made on (~40 % of songs)
    test/annotations.csv, test/<song>.wav      the clean split: final figures only (~30 %)
    train/annotations.csv, train/<song>.wav    the encoder's and match model's split (~30 %)
    stems/<song>/chNN.wav                      solo renders of the train songs' non-silent
                                               channels, sample-aligned with the mix
    corpus.json                                sources and versions, settings, counts, songs

Audio is 22050 Hz mono 16-bit WAV, rendered by libxmp and cut at ``max_seconds`` (5 minutes):
the truth is cut with it (occurrences past the cut are dropped, never shortened).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from loopfind_core.base.errors import ConfigurationError, DatasetError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.corpus.dataset import ANNOTATIONS_FILE, Annotation, write_annotations
from loopfind_core.corpus.tracker.labels import LabelSettings, Sound, label_song
from loopfind_core.corpus.tracker.libxmp import SAMPLE_RATE_HZ, XmpPlayer, library_version
from loopfind_core.corpus.tracker.score import build_score
from loopfind_core.corpus.tracker.sources import (
    SPLITS,
    Source,
    install_command,
    package_version,
    select_sources,
    song_name,
    song_seed,
    split_of,
)

logger = logging.getLogger(__name__)

GENRE = "Tracker"
MAX_SECONDS = 300.0  # songs are cut at 5 minutes, audio and truth alike
MIN_SECONDS = 5.0  # shorter renders (jingles) are skipped
STEM_SILENCE_DBFS = -60.0  # a channel whose solo render is quieter (RMS) gets no stem file
CLIP_LEVEL = 32000  # mix samples at or over this (int16) are left out of the stem-sum check
CORPUS_VERSION = 3  # 2: a test split; sounds with up to 160 occurrences; 3: figure loops
FAMILY_SHARE = 0.5  # songs sharing this share of their note tracks (Jaccard) share a split


@dataclass
class SongResult:
    """What one module became (a row of ``corpus.json``)."""

    song: str
    package: str
    source_file: str
    split: str
    format: str = ""
    channels: int = 0
    duration_s: float = 0.0
    ended_by: str = ""
    stem_residual_db: float | None = None  # (mix − Σ stems) over mix, unclipped samples
    sounds: list[Sound] = field(default_factory=list)
    skipped: str | None = None
    family_of: str | None = None  # the earlier song whose note data this one shares


def note_tracks(module) -> set[str]:
    """Hashes of a module's tracks' notes and instruments (tracks with a note)."""
    return {hashlib.sha256(t[:, :2].tobytes()).hexdigest() for t in module.tracks
            if t[:, 0].any()}


@dataclass(frozen=True)
class SongRenders:
    """A module's mix and per-channel stems (float, full scale 1), and its score."""

    mix: np.ndarray
    stems: list[np.ndarray]
    residual_db: float | None
    score: object
    module: object
    ended_by: str


def render_song(path: Path, max_seconds: float = MAX_SECONDS) -> SongRenders:
    """The mix, every channel solo (zeros for a channel without a note), and the score."""
    with XmpPlayer(path) as player:
        module = player.module
        mix_render = player.render(max_seconds=max_seconds)
        score = build_score(module, mix_render)
        used = {n.channel for n in score.notes}
        mix = mix_render.audio.astype(np.float32) / 32768.0
        stems = []
        total = np.zeros(len(mix), np.int64)
        for channel in range(module.channels):
            if channel not in used:
                stems.append(np.zeros(len(mix), np.float32))
                continue
            solo = player.render(solo=channel, max_seconds=max_seconds)
            if len(solo.audio) != len(mix) or not np.array_equal(solo.frames, mix_render.frames):
                raise DatasetError(f"{path}: a solo render does not follow the mix's clock.")
            total += solo.audio
            stems.append(solo.audio.astype(np.float32) / 32768.0)
    unclipped = np.abs(mix_render.audio.astype(np.int64)) < CLIP_LEVEL
    residual = None
    if unclipped.any():
        error = (mix_render.audio.astype(np.int64) - total)[unclipped].astype(np.float64)
        level = mix_render.audio[unclipped].astype(np.float64)
        power = float(np.dot(level, level))
        if power > 0:
            residual = float(10 * np.log10(max(float(np.dot(error, error)), 1e-9) / power))
    return SongRenders(mix, stems, residual, score, module, mix_render.ended_by)


def _write_wav(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1.0, 32767 / 32768), SAMPLE_RATE_HZ, subtype="PCM_16")


def _available_sources(sources: tuple[Source, ...]) -> tuple[list[tuple[Source, str]], list[str]]:
    present, missing = [], []
    for source in sources:
        version = package_version(source.package)
        if version is None or not source.files():
            missing.append(source.package)
        else:
            present.append((source, version))
    return present, missing


def build_real_corpus(out: str | Path, sources: tuple[str, ...] | None = None,
                      settings: LabelSettings = LabelSettings(),
                      max_seconds: float = MAX_SECONDS,
                      progress: ProgressCallback = no_progress) -> dict:
    """Render, label and write every module of ``sources`` (all known ones by default).

    Returns:
        The summary written to ``corpus.json``.

    Raises:
        ConfigurationError: libxmp is missing, or no source package is installed (the message
            names the ``apt-get install`` line); unknown or reserved source names.
        DatasetError: ``out`` cannot be written.
    """
    started = time.monotonic()
    chosen = select_sources(sources)
    present, missing = _available_sources(chosen)
    if not present:
        raise ConfigurationError(
            "None of the real-music source packages is installed: run "
            f"`{install_command([s.package for s in chosen])}`.")
    for package in missing:
        logger.warning("skipping source %s: not installed (%s)", package,
                       install_command([package]))
    xmp_version = library_version()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"Output folder {str(out)!r} exists and is a file, not a folder.")
    for part in (*SPLITS, "stems"):
        shutil.rmtree(out / part, ignore_errors=True)
    jobs = [(source, path) for source, _ in present for path in source.files()]
    results: list[SongResult] = []
    seen: dict[str, str] = {}  # the mix's hash -> the song that has it
    families: list[tuple[set[str], str, str]] = []  # note data, song, split
    for done, (source, path) in enumerate(jobs):
        song = song_name(source.package, path)
        result = SongResult(song, source.package, str(path), split_of(song))
        progress(done, len(jobs), song)
        _build_song(result, path, out, settings, max_seconds, seen, families)
        if result.skipped:
            logger.warning("skipping %s: %s", song, result.skipped)
        results.append(result)
    progress(len(jobs), len(jobs), "done")
    summary = _summary(results, present, missing, settings, max_seconds, xmp_version,
                       time.monotonic() - started)
    for split in SPLITS:
        rows = [Annotation(f"{r.song}.wav", GENRE, s.category, s.sound, a, b)
                for r in results if r.split == split and not r.skipped
                for s in r.sounds for a, b in s.occurrences]
        (out / split).mkdir(parents=True, exist_ok=True)
        write_annotations(out / split / ANNOTATIONS_FILE, rows)
    (out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _build_song(result: SongResult, path: Path, out: Path, settings: LabelSettings,
                max_seconds: float, seen: dict[str, str],
                families: list[tuple[set[str], str, str]]) -> None:
    """Render, label and write one song; a song whose mix is bit-identical to an earlier one's
    (the same tune shipped twice, or in two formats) is skipped, so no song is in both
    splits, and a song that shares most of its note data with an earlier one (the same tune
    with other instruments) joins that song's split."""
    try:
        renders = render_song(path, max_seconds)
    except DatasetError as error:
        result.skipped = str(error)
        return
    digest = hashlib.sha256(renders.mix.tobytes()).hexdigest()
    if digest in seen:
        result.skipped = f"the same audio as {seen[digest]}"
        return
    seen[digest] = result.song
    notes = note_tracks(renders.module)
    for other_notes, other, split in families:
        if len(notes & other_notes) >= FAMILY_SHARE * max(1, len(notes | other_notes)):
            result.split, result.family_of = split, other
            break
    else:
        families.append((notes, result.song, result.split))
    module = renders.module
    result.format, result.channels = module.format, module.channels
    result.duration_s = len(renders.mix) / SAMPLE_RATE_HZ
    result.ended_by, result.stem_residual_db = renders.ended_by, renders.residual_db
    if result.duration_s < MIN_SECONDS:
        result.skipped = f"only {result.duration_s:.1f} s long"
        return
    result.sounds = label_song(renders.score, renders.mix, renders.stems, settings,
                               song_seed(result.song))
    if not result.sounds and result.split != "train":
        result.skipped = "no sound passed the labelling rules"
        return
    _write_wav(out / result.split / f"{result.song}.wav", renders.mix)
    if result.split == "train":
        for channel, stem in enumerate(renders.stems):
            rms = float(np.sqrt(np.mean(np.square(stem, dtype=np.float64)))) if len(stem) else 0
            if rms > 0 and 20 * math.log10(rms) >= STEM_SILENCE_DBFS:
                _write_wav(out / "stems" / result.song / f"ch{channel:02d}.wav", stem)


def summary_lines(summary: dict, out: str | Path) -> list[str]:
    """What ``real-corpus`` prints: per split, songs, minutes, sounds and occurrences."""
    lines = []
    for split, counts in summary["counts"].items():
        sample, loop = counts["sample"], counts["loop"]
        lines.append(f"{split}: {counts['songs']} songs, {counts['hours'] * 60:.1f} min, "
                     f"{sample['sounds']} samples ({sample['occurrences']} occurrences), "
                     f"{loop['sounds']} loops ({loop['occurrences']} occurrences)")
    lines.append(f"wrote {out} in {summary['build_seconds']:.0f} s (corpus.json has the details)")
    return lines


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def _summary(results: list[SongResult], present: list[tuple[Source, str]], missing: list[str],
             settings: LabelSettings, max_seconds: float, xmp_version: str,
             seconds: float) -> dict:
    counts: dict = {}
    for split in SPLITS:
        songs = [r for r in results if r.split == split and not r.skipped]
        entry: dict = {"songs": len(songs),
                       "hours": round(sum(r.duration_s for r in songs) / 3600, 3)}
        for category in ("sample", "loop"):
            sounds = [s for r in songs for s in r.sounds if s.category == category]
            occurrences = [len(s.occurrences) for s in sounds]
            entry[category] = {
                "sounds": len(sounds), "occurrences": int(sum(occurrences)),
                "occurrence_counts": {str(k): occurrences.count(k)
                                      for k in sorted(set(occurrences))}}
        counts[split] = entry
    return {
        "corpus_version": CORPUS_VERSION,
        "genre": GENRE,
        "libxmp": xmp_version,
        "python": platform.python_version(),
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "max_seconds": max_seconds,
        "build_seconds": round(seconds, 1),
        "settings": asdict(settings),
        "sources": [{"package": s.package, "version": v, "globs": list(s.globs),
                     "files": len(s.files())} for s, v in present],
        "missing_sources": missing,
        "counts": counts,
        "songs": [{
            "song": r.song, "package": r.package, "source_file": r.source_file,
            "split": r.split, "family_of": r.family_of, "format": r.format, "channels": r.channels,
            "duration_s": round(r.duration_s, 3), "ended_by": r.ended_by,
            "stem_residual_db": None if r.stem_residual_db is None
            else round(r.stem_residual_db, 1),
            "skipped": r.skipped,
            "sounds": [{"sound": s.sound, "category": s.category, "kind": s.kind,
                        "channels": list(s.channels), "occurrences": len(s.occurrences),
                        "window_s": round(s.occurrences[0][1] - s.occurrences[0][0], 3),
                        "inaudible_plays": s.inaudible,
                        "audibility_db": [_finite(x) for x in s.audibility_db]}
                       for s in r.sounds],
        } for r in results],
    }
