"""The product commands: hunt (one track or a library), index, app."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from loopfind_core.base.errors import ConfigurationError, DatasetError, LoopfindError
from loopfind_core.cli.common import progress_bar
from loopfind_core.library.vector_index import DEFAULT_SHORTLIST_TRACKS

log = logging.getLogger("loopfind_core")


HUNT_KEYS = "[y]es / [n]o / [u]ndo / [d]one"
PAGE_KEYS = "Enter or [y] keeps the ticks / numbers flip them (2 5) / [u]ndo / [d]one"


NO_INPUT = ("No answers can be asked: standard input is closed or not readable. Answer "
            "from a dataset's ground truth with --answers-from DATASET, or run `hunt` in a "
            "terminal.")


def _check_can_ask() -> None:
    """Refuse, before any work, to start a hunt that must ask while nothing can answer.

    Raises:
        ConfigurationError: standard input is missing or closed."""
    if sys.stdin is None or sys.stdin.closed:
        raise ConfigurationError(NO_INPUT)


def _ask(session, prompt: str) -> None:
    """One interactive answer: y/n answers the candidate, u undoes, d finishes the hunt.

    Raises:
        ConfigurationError: standard input ended (closed, or at its end) before an answer."""
    try:
        reply = input(f"{prompt} — {HUNT_KEYS}? ").strip().lower()[:1]
    except (EOFError, RuntimeError, OSError, ValueError):  # at its end, lost, or closed
        print()
        raise ConfigurationError(NO_INPUT) from None
    if reply in ("y", "n"):
        session.answer(reply == "y")
    elif reply == "u":
        session.undo()
    elif reply == "d":
        session.finish()
    else:
        print(f"answer with {HUNT_KEYS}")


def _ask_page(session, page, labels: list[str]) -> None:
    """One interactive page: Enter (or y) records the ticks as shown, numbers flip those
    windows first (``2 5``), u undoes the last answer, d finishes the hunt.

    Raises:
        ConfigurationError: standard input ended before an answer."""
    ticks = [window.ticked for window in page]
    for number, (label, tick) in enumerate(zip(labels, ticks), start=1):
        print(f"  [{'x' if tick else ' '}] {number:2d}. {label}")
    try:
        reply = input(f"{PAGE_KEYS}? ").strip().lower()
    except (EOFError, RuntimeError, OSError, ValueError):
        print()
        raise ConfigurationError(NO_INPUT) from None
    if reply == "u":
        session.undo()
        return
    if reply == "d":
        session.finish()
        return
    try:
        flips = {int(word) for word in reply.replace(",", " ").split() if reply != "y"}
    except ValueError:
        print(f"answer with {PAGE_KEYS}")
        return
    if not flips <= set(range(1, len(page) + 1)):
        print(f"numbers from 1 to {len(page)}, or {PAGE_KEYS}")
        return
    session.answer_batch([(w.candidate, tick != (n in flips))
                          for n, (w, tick) in enumerate(zip(page, ticks), start=1)])


def _next_windows(session, pages: bool) -> list:
    """What to show next: the session's page (:meth:`RetrievalSession.next_page`), or with
    ``pages`` off its one pending proposal."""
    from loopfind_core.retrieval.review import PageWindow

    if pages:
        return session.next_page()
    candidate = session.propose()
    return [] if candidate is None else [
        PageWindow(candidate, session.match_probability(candidate), False)]


def review_hunt(session, label_of, judge=None, pages: bool = True) -> None:
    """Run a hunt to its end as its review says (:meth:`RetrievalSession.next_page`): one
    window at a time, or a page of likely windows at once (ticked where very likely; never
    with ``pages`` off), with what is left after each answer. ``label_of(candidate)`` says
    where a window lies; ``judge(candidate)`` answers it from a ground truth (None: ask on
    the terminal)."""
    from loopfind_core.retrieval.review import left_text

    while page := _next_windows(session, pages):
        numbered = answered = len(session.history) + 1
        labels = [f"{label_of(w.candidate)} (chance {w.chance:.0%})" for w in page]
        if len(page) == 1:
            prompt = f"candidate {numbered}: {labels[0]}"
            if judge is None:
                _ask(session, prompt)
            else:
                yes = judge(page[0].candidate)
                print(f"{prompt}: {'yes' if yes else 'no'}")
                session.answer(yes)
        else:
            print(f"page of {len(page)} likely windows (candidates {numbered}–"
                  f"{numbered + len(page) - 1}):")
            if judge is None:
                _ask_page(session, page, labels)
            else:
                decisions = [(w.candidate, judge(w.candidate)) for w in page]
                for number, (label, (_, yes)) in enumerate(zip(labels, decisions), start=1):
                    print(f"  {number:2d}. {label}: {'yes' if yes else 'no'}")
                session.answer_batch(decisions)
        if len(session.history) + 1 != answered or session.finished:
            print(f"  {left_text(session)}")


def cmd_index(args: argparse.Namespace) -> int:
    from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
    from loopfind_core.library.store import build_index

    whiten = None if args.no_whiten else DEFAULT_WHITENING_SHRINKAGE
    with progress_bar("indexing") as progress:
        report = build_index(args.folder, args.out, args.features, whiten, args.jobs, progress,
                             engine=args.engine, address=args.address)
    print(f"{args.out}: {report.added} added, {report.unchanged} unchanged, {report.removed} "
          f"removed, {len(report.failed)} unreadable, {len(report.repaired)} repaired; "
          f"{report.audio_hours:.2f} h of audio; {report.seconds:.1f} s")
    for reason in report.repaired:
        print(f"  repaired {reason}: extracted again")
    if report.added_hours > 0:
        print(f"extracted {report.added_hours:.3f} track-hours in {report.extract_seconds:.1f} s "
              f"on the {report.engine} engine: "
              f"{report.extract_seconds / report.added_hours:.1f} s per track-hour")
    for reason in report.failed:
        print(f"  skipped {reason}")
    if report.vectors:
        how = "built" if report.vectors.rebuilt else (
            f"updated (+{report.vectors.added_blocks} -{report.vectors.removed_blocks} blocks)")
        print(f"vector index: {report.vectors.blocks} blocks ({report.vectors.factory}), "
              f"{report.vectors.bytes / 2**20:.1f} MiB, {how} in {report.vectors.seconds:.1f} s"
              + (" (its file was damaged)" if report.vectors.repaired else ""))
    return 0


def sounds_of(sounds, name: str) -> tuple:
    """The annotated sounds (:class:`~loopfind_core.corpus.dataset.SoundTruth`) of the file
    ``name`` (a path relative to the dataset, POSIX separators): those annotated under that
    path, else under any path with the same file name (a dataset whose files sit in a
    subfolder)."""
    exact = tuple(s for s in sounds if s.file == name)
    if exact:
        return exact
    base = PurePosixPath(name).name
    return tuple(s for s in sounds if PurePosixPath(s.file).name == base)


def _name_in_dataset(track: Path, dataset: Path) -> str:
    """``track``'s path relative to ``dataset`` when it lies inside, else its file name."""
    try:
        return track.resolve().relative_to(dataset.resolve()).as_posix()
    except ValueError:
        return track.name


@dataclass
class _LibraryTruth:
    """``--answers-from`` for a library hunt: the query's sound, and its occurrences in any
    track whose annotations name a sound of the same name (the simulated user's answers)."""

    sounds: tuple  # every SoundTruth of the dataset
    sound: str  # the query's sound's name
    query_track: str  # the query's track in the library
    query_name: str  # ... and in the dataset
    needed_s: float  # overlap a yes needs (seconds)
    found: set = field(default_factory=set)  # (track, occurrence index) answered yes

    def occurrences(self, track: str) -> tuple:
        name = self.query_name if track == self.query_track else track
        return tuple(o for s in sounds_of(self.sounds, name) if s.sound == self.sound
                     for o in s.occurrences)

    def answer(self, track: str, start_s: float, duration_s: float) -> bool:
        from loopfind_core.corpus.truth import matching_occurrence

        occurrences = self.occurrences(track)
        unfound = {i for i in range(len(occurrences)) if (track, i) not in self.found}
        window = SimpleNamespace(start_s=start_s, end_s=start_s + duration_s)
        hit = matching_occurrence(window, occurrences, unfound, self.needed_s)
        if hit is not None:
            self.found.add((track, hit))
        return hit is not None


def _library_truth(args: argparse.Namespace, hunt) -> _LibraryTruth | None:
    """The truth ``--answers-from`` gives a library hunt, or None without it.

    Raises:
        LoopfindError: an unreadable dataset, or a query over no annotated sound."""
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.corpus.truth import MATCH_OVERLAP_FRACTION, matching_sound

    if args.answers_from is None:
        return None
    sounds = read_dataset(args.answers_from).sounds()
    query_name = (_name_in_dataset(args.track, args.answers_from) if args.track.is_file()
                  else str(args.track))
    matched = matching_sound(sounds_of(sounds, query_name), args.start, args.duration)
    if matched is None:
        raise DatasetError("--answers-from: the selection covers no annotated sound of "
                           f"{PurePosixPath(query_name).name!r} in that dataset.")
    truth = _LibraryTruth(sounds, matched[0].sound, hunt.query_track, query_name,
                          MATCH_OVERLAP_FRACTION * args.duration)
    query_occurrences = truth.occurrences(hunt.query_track)
    truth.found.add((hunt.query_track, query_occurrences.index(
        matched[0].occurrences[matched[1]])))
    return truth


def _safe_stem(name: str) -> str:
    stem = PurePosixPath(name).name.rsplit(".", 1)[0]
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem).strip("_") or "track"


def _write_library_exports(args: argparse.Namespace, hunt, formats: list[str]) -> None:
    """Each ``--out`` file of a library hunt: ``.csv`` holds every track's occurrences (track,
    start, end); every other format describes one track (its tempo, its song), so it is
    written once per track with occurrences, as ``<name>-<track><extension>``."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.base.beats import estimate_beats
    from loopfind_core.interactive.export import (
        TrackInfo,
        export,
        library_events_csv,
        library_track_events,
    )
    from loopfind_core.library.manifest import track_audio_path

    events = hunt.events()
    tracks = list(dict.fromkeys(e.track for e in events))
    audio_of: dict = {}
    for path, fmt in zip(args.out, formats):
        if fmt == "csv":
            Path(path).write_text(library_events_csv(events))
            print(f"wrote {path} (csv: {len(events)} occurrences in {len(tracks)} tracks)")
            continue
        for track in tracks:
            if track not in audio_of:
                own = hunt.query_audio if track == hunt.query_track else None
                audio_of[track] = own or load_audio(track_audio_path(args.index, track))
            audio = audio_of[track]
            info = TrackInfo(PurePosixPath(track).name, audio.original_sr_hz,
                             estimate_beats(audio))
            target = Path(path).with_name(f"{Path(path).stem}-{_safe_stem(track)}"
                                          f"{Path(path).suffix}")
            target.write_bytes(export(library_track_events(hunt, track), info, fmt,
                                      audio=audio))
            print(f"wrote {target} ({fmt})")


def _hunt_library(args: argparse.Namespace) -> int:
    """``hunt --index``: the query from a track (an audio file, indexed or not, or the name of
    an indexed track), candidates from the library: the tracks its vector index shortlists
    (``--shortlist N``), or every track (0). Answers from the terminal, or from
    ``--answers-from``'s ground truth; then every ``--out`` file."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.interactive.export import format_of_path
    from loopfind_core.library.hunt import hunt_selection
    from loopfind_core.library.manifest import read_index_manifest

    formats = [format_of_path(path) for path in args.out]  # refuse a bad name before hunting
    if args.answers_from is None:
        _check_can_ask()
    manifest = read_index_manifest(args.index)
    query = load_audio(args.track) if args.track.is_file() else str(args.track)
    hunt = hunt_selection(args.index, query, args.start, args.duration,
                          shortlist_tracks=args.shortlist, patience=args.patience,
                          strategy=args.strategy)
    truth = _library_truth(args, hunt)
    session = hunt.session
    searched = (f"the {len(hunt.shortlist.names)} of {len(manifest['tracks'])} indexed tracks "
                f"its vector index lists first ({hunt.shortlist.seconds * 1000:.0f} ms)"
                if hunt.shortlist else f"all {len(manifest['tracks'])} indexed tracks")
    print(f"hunting {args.duration:.2f} s from {args.start:.2f} s of {args.track} across "
          f"{searched} ({manifest['kind']})")
    def label_of(candidate) -> str:
        name, at_s = hunt.location(candidate)
        return f"{name} at {at_s:8.2f} s"

    def judge(candidate) -> bool:
        return truth.answer(*hunt.location(candidate), candidate.duration_s)

    review_hunt(session, label_of, None if truth is None else judge, args.review == "adaptive")
    for event in hunt.events():
        print(f"{event.track}\t{event.start_s:.3f}\t{event.end_s:.3f}")
    _write_library_exports(args, hunt, formats)
    return 0


def cmd_hunt(args: argparse.Namespace) -> int:
    from loopfind_core.base.audio import load_audio
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.corpus.truth import (
        MATCH_OVERLAP_FRACTION,
        matching_occurrence,
        matching_sound,
    )
    from loopfind_core.interactive.export import export, format_of_path
    from loopfind_core.interactive.workspace import Workspace
    from loopfind_core.retrieval.defaults import APP_HUNT

    args.features = args.features or APP_HUNT.kind
    args.strategy = args.strategy or APP_HUNT.strategy
    args.patience = APP_HUNT.patience if args.patience is None else args.patience
    if args.index is not None:
        return _hunt_library(args)
    formats = [format_of_path(path) for path in args.out]  # refuse a bad name before hunting
    if args.answers_from is None:
        _check_can_ask()
    audio = load_audio(args.track)
    truth = ()
    if args.answers_from is not None:  # its files may sit in subfolders of the dataset
        truth = sounds_of(read_dataset(args.answers_from).sounds(),
                          _name_in_dataset(Path(args.track), args.answers_from))
    workspace = Workspace(audio, truth)
    if args.no_whiten:
        workspace.whiten = None
    workspace.select(args.start, args.duration, snap_to_beats=args.snap)
    hunt = workspace.start_hunt(args.features, args.strategy, args.patience, args.name)
    session = hunt.session
    matched = matching_sound(truth, workspace.selection.start_s, workspace.selection.duration_s)
    if truth and matched is None:
        raise LoopfindError("--answers-from: the selection covers no annotated sound.")
    unfound = set(range(len(matched[0].occurrences))) - {matched[1]} if matched else set()
    needed_s = MATCH_OVERLAP_FRACTION * workspace.selection.duration_s
    print(f"hunting {hunt.sound!r}: {workspace.selection.duration_s:.2f} s from "
          f"{workspace.selection.start_s:.2f} s, {hunt.kind}/{hunt.strategy}, patience "
          f"{session.patience}")
    def judge(candidate) -> bool:
        hit = matching_occurrence(candidate, matched[0].occurrences, unfound, needed_s)
        unfound.discard(hit)
        return hit is not None

    review_hunt(session, lambda c: f"at {c.start_s:8.2f} s", judge if matched else None,
                args.review == "adaptive")
    events = workspace.events()
    print(f"{len(events)} occurrences (the query included): "
          + ", ".join(f"{e.start_s:.2f}" for e in events))
    for path, fmt in zip(args.out, formats):
        Path(path).write_bytes(export(events, workspace.track_info, fmt, audio=audio))
        print(f"wrote {path} ({fmt})")
    return 0


APP_EXTRA_HINT = 'pip install "loopfind[app]"'


def app_script() -> Path:
    """The app's entry script, found without importing the app (the core never does):
    ``loopfind_app/site/app.py`` in an installed wheel (pyproject.toml puts the top-level
    ``app.py``, ``pages/`` and ``.streamlit/`` there), else ``app.py`` beside ``loopfind_app/``
    in a checkout or an editable install."""
    spec = importlib.util.find_spec("loopfind_app")
    folders = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    for folder in folders:
        for script in (folder / "site" / "app.py", folder.parent / "app.py"):
            if script.is_file():
                return script
    raise LoopfindError(f"The app is not installed with this package; {APP_EXTRA_HINT}.")


def cmd_app(args: argparse.Namespace) -> int:
    """``streamlit run`` on the app, in this process (so a signal reaches the server); the
    settings of its ``.streamlit/config.toml`` apply from any working folder, since Streamlit
    reads the one beside the entry script."""
    script = app_script()
    if importlib.util.find_spec("streamlit") is None:
        raise LoopfindError(f"`app` needs the app's packages: {APP_EXTRA_HINT}.")
    from loopfind_core.base.compile_cache import warm_compile_cache

    warm_compile_cache()  # before the first visitor: librosa's kernels compiled, with a line
    command = [sys.executable, "-m", "streamlit", "run", str(script), *args.streamlit_args]
    log.debug("running %s", " ".join(command))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)
    return 0  # not reached


def add_product_commands(commands: argparse._SubParsersAction) -> None:
    """The product commands' parsers."""
    hunt = commands.add_parser(
        "hunt", help="find every occurrence of a sound by answering yes/no, then export")
    hunt.add_argument("track", type=Path, help="audio file (WAV, FLAC, OGG, MP3, AIFF)")
    hunt.add_argument("--start", type=float, required=True, help="query start, seconds")
    hunt.add_argument("--duration", type=float, required=True, help="query length, seconds")
    hunt.add_argument("--snap", action="store_true", help="snap the query to the beat grid")
    hunt.add_argument("--features", default=None,
                      help="feature kind: mfcc, mel, mel-std, learned, fused (default: the "
                           "app's, learned)")
    hunt.add_argument("--strategy", default=None,
                      help="active or naive (default: the app's, active)")
    hunt.add_argument("--no-whiten", action="store_true",
                      help="the paper's raw features (default: whitened per track)")
    hunt.add_argument("--patience", type=int, default=None,
                      help="rejections allowed (default: the app's, 5)")
    hunt.add_argument("--review", choices=("adaptive", "one"), default="adaptive",
                      help="adaptive (default, as the Hunt page): a page of the likely windows "
                           "while matches are dense, one at a time while they are rare; one: "
                           "always one candidate at a time. Both stop when probably none is "
                           "left or after the patience's 'no' in a row")
    hunt.add_argument("--name", default="", help="the sound's name in the exports")
    hunt.add_argument("--out", type=Path, nargs="*", default=[],
                      help="export files; the format follows the extension: .csv, .json "
                           "(its JSON Schema: loopfind_core/interactive/events.schema.json), "
                           ".txt (Audacity labels), .mid, .osz "
                           "(osu! beatmap with the song), .zip (Beat Saber map with the song); "
                           "with --index, .csv lists every track's occurrences and the other "
                           "formats are written per track, as NAME-TRACK.EXT")
    hunt.add_argument("--answers-from", type=Path, default=None,
                      help="answer from this dataset folder's ground truth instead of asking "
                           "(TRACK is found by its path in the dataset, else by its file name, "
                           "in any subfolder); with --index, a candidate is the sound where "
                           "its track's annotations name a sound of the same name")
    hunt.add_argument("--index", type=Path, default=None,
                      help="hunt across the tracks of this index (TRACK: a track in it, or "
                           "any audio file)")
    hunt.add_argument("--shortlist", type=int, default=DEFAULT_SHORTLIST_TRACKS, metavar="N",
                      help="with --index: search exactly the N tracks the vector index lists "
                           f"first (default {DEFAULT_SHORTLIST_TRACKS}); 0: every track")
    hunt.set_defaults(run=cmd_hunt)

    index = commands.add_parser(
        "index", help="store the features of a folder of tracks (incremental, parallel)")
    index.add_argument("folder", type=Path, help="folder of audio files (searched recursively)")
    index.add_argument("--out", type=Path, required=True, help="index folder")
    index.add_argument("--features", default="learned", help="feature kind (default learned)")
    index.add_argument("--no-whiten", action="store_true", help="store raw features")
    index.add_argument("--jobs", "--workers", dest="jobs", type=int, default=0,
                       help="worker processes (default: cores); with --engine dask and no "
                            "--address, the local cluster's workers")
    index.add_argument("--engine", choices=("local", "dask"), default="local",
                       help="where features are extracted: local processes (default) or Dask "
                            "distributed (docs/scale.md); the index is the same")
    index.add_argument("--address", default=None,
                       help="with --engine dask: join this scheduler (tcp://host:8786) instead "
                            "of starting a local cluster; its workers must see FOLDER and "
                            "--out at the same paths")
    index.set_defaults(run=cmd_index)

    app = commands.add_parser(
        "app", help="start the app (streamlit run); further options go to streamlit, e.g. "
                    "--server.port 8502",
        description=f"Start the Streamlit app on http://localhost:8501 (needs {APP_EXTRA_HINT}). "
                    "Options after `app` go to `streamlit run`, e.g. --server.port 8502.")
    app.set_defaults(run=cmd_app)
