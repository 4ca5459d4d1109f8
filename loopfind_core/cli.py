"""The command line: ``loopfind COMMAND`` (installed), or ``python -m loopfind_core COMMAND``.

Commands:
    synth     write a generated benchmark corpus (audio + annotations.csv)
    real-corpus  render tracker modules from Debian packages into a labelled real-music corpus
    evaluate  the paper's protocol with a simulated user, on any dataset folder
    paired    per-sound paired margin of one method over another (two evaluate reports)
    train     train the learned encoder without labels (runs under torchrun too)
    bench     speed and memory of the core on a generated 7.5-minute track
    hunt      find every occurrence of a sound in a track by answering yes/no; export them
    discover  the repeated sounds of a track worth hunting, or how well that works on a dataset
    index     extract and store the features of a folder of tracks (incremental, parallel)
    app       start the Streamlit app (needs the ``app`` extra: ``pip install "loopfind[app]"``)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.progress import ProgressCallback, no_progress
from loopfind_core.library.vector_index import DEFAULT_SHORTLIST_TRACKS

log = logging.getLogger("loopfind_core")


@contextlib.contextmanager
def progress_bar(description: str, unit: str = "file") -> Iterator[ProgressCallback]:
    """A tqdm bar on stderr, driven through the library's progress callback."""
    from tqdm import tqdm

    bar = tqdm(desc=description, file=sys.stderr, unit=unit, dynamic_ncols=True)

    def update(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _comma_list(text: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _speed_variants(text: str) -> tuple[float, ...]:
    """``3,6`` → (−6, −3, 3, 6): each magnitude in percent, played faster and slower."""
    try:
        magnitudes = sorted({abs(float(x)) for x in _comma_list(text)})
    except ValueError:
        raise argparse.ArgumentTypeError("expected percentages, e.g. 3,6") from None
    return tuple([-m for m in reversed(magnitudes)] + magnitudes)


SYNTH_JITTER_FLAGS = ("sample_pitch_jitter_cents", "loop_pitch_jitter_cents",
                      "sample_tempo_jitter_percent", "loop_tempo_jitter_percent")


def cmd_synth(args: argparse.Namespace) -> int:
    from loopfind_core.corpus.synth import SynthConfig, generate_corpus

    jitter = {name: getattr(args, name) for name in SYNTH_JITTER_FLAGS
              if getattr(args, name) is not None}
    config = SynthConfig(**jitter)  # unset flags keep the defaults: the same corpus as ever
    with progress_bar("synthesising") as progress:
        paths = generate_corpus(args.out, args.tracks, args.seed, config, progress=progress)
    print(f"wrote {len(paths)} tracks and annotations.csv to {args.out}")
    return 0


def _evaluated_method(args: argparse.Namespace) -> dict:
    """features, strategies, patience and whitening, from ``--preset`` or the single flags."""
    from loopfind_core.retrieval.defaults import HUNT_PRESETS

    single = {"features": args.features, "strategies": args.strategy,
              "patience": args.patience, "whiten": args.whiten}
    if args.preset is None:
        defaults = {"features": ("mfcc",), "strategies": ("naive", "active"), "patience": 5}
        return {k: defaults[k] if v is None else v for k, v in single.items()
                if v is not None or k in defaults}
    flags = {"features": "--features", "strategies": "--strategy", "patience": "--patience",
             "whiten": "--whiten"}
    given = [flags[k] for k, v in single.items() if v is not None]
    if given:
        raise LoopfindError(f"--preset {args.preset} sets the method: drop {', '.join(given)}.")
    preset = HUNT_PRESETS[args.preset]
    return {"features": (preset.kind,), "strategies": (preset.strategy,),
            "patience": preset.patience, "whiten": preset.whiten}


def _paired_lines(sounds_a, method_a: str, sounds_b, others: Sequence[str]) -> str:
    from loopfind_core.research.paired import format_margins, paired_margins, recall_by_sound

    a = recall_by_sound(sounds_a, method_a)
    return "\n".join(format_margins(paired_margins(a, recall_by_sound(sounds_b, other),
                                                   method_a, other)) for other in others)


def cmd_paired(args: argparse.Namespace) -> int:
    from loopfind_core.research.paired import sounds_of_json

    print(_paired_lines(sounds_of_json(args.a_json), args.a_method, sounds_of_json(args.b_json),
                        [args.b_method]))
    return 0


def cmd_real_corpus(args: argparse.Namespace) -> int:
    from loopfind_core.corpus.tracker import build_real_corpus, summary_lines

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    with progress_bar("rendering modules") as progress:
        summary = build_real_corpus(args.out, sources=args.sources, progress=progress)
    print("\n".join(summary_lines(summary, args.out)))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from loopfind_core.corpus.demo import ensure_demo_corpus
    from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset
    from loopfind_core.research.reports import (
        format_auto_accept,
        format_effort,
        format_table,
        write_json,
        write_plot,
    )

    data = args.data
    if data is None:
        with progress_bar("generating the demo corpus") as progress:
            data = ensure_demo_corpus(progress)
        print(f"no --data given: evaluating the built-in demo corpus in {data}")
    options = {} if args.negative_weight is None else {"negative_weight": args.negative_weight}
    options.update(_evaluated_method(args))
    if args.beat_prior:
        options["beat_prior"] = args.beat_prior
    if args.auto_accept:
        options["auto_accept"] = tuple(float(x) for x in args.auto_accept)
    if args.checkpoint is not None:
        options["checkpoint"] = str(args.checkpoint)
    if args.speed_variants:
        options["speed_variants"] = args.speed_variants
    if args.batch:
        options["batch"] = args.batch
    config = EvaluationConfig(queries=args.queries, device=args.device, jobs=args.jobs,
                              **options)
    with progress_bar("evaluating") as progress:
        report = evaluate_dataset(data, config, progress)
    print(format_table(report))
    print()
    print(format_effort(report))
    methods = [f"{k}/{m}" for k in config.features for m in config.strategies]
    if len(methods) > 1:
        print()
        print(_paired_lines(report.sounds, methods[0], report.sounds, methods[1:]))
    if config.batch:
        print(f"batch{config.batch}: the user reviews pages of {config.batch} windows and ticks "
              "the occurrences; every window shown counts as one answer, a page with nothing "
              "ticked as one rejection against patience.")
    if report.auto_accept:
        print()
        print(f"auto-accept after {config.manual_answers} answers:")
        print(format_auto_accept(report))
    print(f"({report.seconds:.1f} s; patience {config.patience}; queries: {args.queries})")
    if report.skipped:
        print(f"skipped {len(report.skipped)}: " + "; ".join(report.skipped[:5]))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        write_plot(report, args.plot)
        print(f"wrote {args.plot}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from loopfind_core.training.config import TrainConfig, with_overrides
    from loopfind_core.training.loop import train

    overrides = {
        "iters": args.iters, "batch": args.batch, "seed": args.seed, "losses": args.losses,
        "augmentations": () if args.aug == ("none",) else args.aug,
        "excerpt_frames": args.excerpt_frames, "ae_input": args.ae_input,
        "dilation_growth": args.dilation_growth, "learning_rate": args.lr,
        "residual": args.residual or None, "repeat_share": args.repeat_share,
    }
    config = with_overrides(TrainConfig(), **{k: v for k, v in overrides.items() if v is not None})
    first_rank = int(os.environ.get("RANK", "0")) == 0  # under torchrun: one bar, one "wrote"
    bar = (progress_bar("training", unit="step") if first_rank
           else contextlib.nullcontext(no_progress))
    with bar as progress:
        result = train(args.data, args.out, config, device=args.device, resume=args.resume,
                       progress=progress, description=args.description or "")
    if result.wrote:
        print(f"wrote {result.checkpoint} after {result.iterations} iterations in "
              f"{result.seconds:.0f} s; final losses {result.final_losses}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from loopfind_core.research.bench import format_bench, run_bench

    result = run_bench(duration_s=args.duration, repeats=args.repeats, device=args.device,
                       checkpoint=args.checkpoint)
    print(format_bench(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=2))
        print(f"wrote {args.json}")
    return 0


HUNT_KEYS = "[y]es / [n]o / [u]ndo / [d]one"


def _ask(session, prompt: str) -> None:
    """One interactive answer: y/n answers the candidate, u undoes, d finishes the hunt."""
    reply = input(f"{prompt} — {HUNT_KEYS}? ").strip().lower()[:1]
    if reply in ("y", "n"):
        session.answer(reply == "y")
    elif reply == "u":
        session.undo()
    elif reply == "d":
        session.finish()
    else:
        print(f"answer with {HUNT_KEYS}")


def cmd_index(args: argparse.Namespace) -> int:
    from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
    from loopfind_core.library.store import build_index

    whiten = None if args.no_whiten else DEFAULT_WHITENING_SHRINKAGE
    with progress_bar("indexing") as progress:
        report = build_index(args.folder, args.out, args.features, whiten, args.jobs, progress,
                             engine=args.engine, address=args.address)
    print(f"{args.out}: {report.added} added, {report.unchanged} unchanged, {report.removed} "
          f"removed, {len(report.failed)} unreadable; {report.audio_hours:.2f} h of audio; "
          f"{report.seconds:.1f} s")
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
              f"{report.vectors.bytes / 2**20:.1f} MiB, {how} in {report.vectors.seconds:.1f} s")
    return 0


def _hunt_library(args: argparse.Namespace) -> int:
    """``hunt --index``: the query from a track (an audio file, indexed or not, or the name of
    an indexed track), candidates from the library: the tracks its vector index shortlists
    (``--shortlist N``), or every track (0)."""
    from loopfind_core.base.audio import load_audio
    from loopfind_core.library.hunt import hunt_selection
    from loopfind_core.library.manifest import read_index_manifest

    manifest = read_index_manifest(args.index)
    query = load_audio(args.track) if args.track.is_file() else str(args.track)
    hunt = hunt_selection(args.index, query, args.start, args.duration,
                          shortlist_tracks=args.shortlist, patience=args.patience,
                          strategy=args.strategy)
    session = hunt.session
    searched = (f"the {len(hunt.shortlist.names)} of {len(manifest['tracks'])} indexed tracks "
                f"its vector index lists first ({hunt.shortlist.seconds * 1000:.0f} ms)"
                if hunt.shortlist else f"all {len(manifest['tracks'])} indexed tracks")
    print(f"hunting {args.duration:.2f} s from {args.start:.2f} s of {args.track} across "
          f"{searched} ({manifest['kind']})")
    while (candidate := session.propose()) is not None:
        name, at_s = hunt.location(candidate)
        _ask(session, f"candidate {len(session.history) + 1}: {name} at {at_s:8.2f} s "
                      f"(similarity {session.confidence(candidate):.0%})")
    for event in hunt.events():
        print(f"{event.track}\t{event.start_s:.3f}\t{event.end_s:.3f}")
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
    audio = load_audio(args.track)
    truth = ()
    if args.answers_from is not None:
        name = Path(args.track).name
        truth = tuple(s for s in read_dataset(args.answers_from).sounds() if s.file == name)
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
    while (candidate := session.propose()) is not None:
        prompt = (f"candidate {len(session.history) + 1} at {candidate.start_s:8.2f} s "
                  f"(similarity {session.confidence(candidate):.0%})")
        if not matched:
            _ask(session, prompt)
            continue
        hit = matching_occurrence(candidate, matched[0].occurrences, unfound, needed_s)
        unfound.discard(hit)
        print(f"{prompt}: {'yes' if hit is not None else 'no'}")
        session.answer(hit is not None)
    events = workspace.events()
    print(f"{len(events)} occurrences (the query included): "
          + ", ".join(f"{e.start_s:.2f}" for e in events))
    for path, fmt in zip(args.out, formats):
        Path(path).write_bytes(export(events, workspace.track_info, fmt, audio=audio))
        print(f"wrote {path} ({fmt})")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from loopfind_core.research.discovery import evaluate_discovery
    from loopfind_core.retrieval.discovery import discover

    options = {"checkpoint": str(args.checkpoint)} if args.checkpoint else {}
    if args.data is not None:
        with progress_bar("discovering") as progress:
            score = evaluate_discovery(args.data, args.features, args.top, progress, **options)
        print(f"{score.discovered} of {score.sounds} annotated sounds "
              f"({score.discovered / max(1, score.sounds):.1%}) are among the top {args.top} "
              f"suggestions of their track; occurrence recall {score.occurrence_recall:.3f}, "
              f"precision {score.occurrence_precision:.3f} ({args.features})")
        return 0
    if args.track is None:
        raise LoopfindError("Give a TRACK to discover in, or --data DIR to measure discovery.")
    from loopfind_core.base.audio import load_audio
    from loopfind_core.base.beats import estimate_beats
    from loopfind_core.features.registry import extract_features

    audio = load_audio(args.track)
    track = extract_features(audio, args.features, **options)
    suggestions = discover(track, estimate_beats(audio), args.top)
    for rank, s in enumerate(suggestions, start=1):
        print(f"{rank:2d}. {s.start_s:8.2f} s + {s.duration_s:5.2f} s: {len(s.occurrences):3d} "
              f"occurrences (score {s.score:.2f}) at "
              + ", ".join(f"{start:.1f}" for start, _ in s.occurrences))
    if args.json:
        args.json.write_text(json.dumps([
            {"start": s.start_s, "duration": s.duration_s, "score": s.score,
             "occurrences": [{"start": a, "end": b} for a, b in s.occurrences]}
            for s in suggestions], indent=2))
        print(f"wrote {args.json}")
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
    command = [sys.executable, "-m", "streamlit", "run", str(script), *args.streamlit_args]
    log.debug("running %s", " ".join(command))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)
    return 0  # not reached


def program_name() -> str:
    """``loopfind`` as the installed script, ``python -m loopfind_core`` when run that way."""
    return "python -m loopfind_core" if Path(sys.argv[0]).name == "__main__.py" else "loopfind"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Find every occurrence of a sound in a music track.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write a generated benchmark corpus")
    synth.add_argument("--out", required=True, type=Path, help="output folder")
    synth.add_argument("--tracks", type=int, default=40, help="number of tracks (default 40)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("--sample-pitch-jitter-cents", type=float, default=None,
                       help="each sample occurrence resampled by up to ± this many cents "
                            "(pitch and speed together; default 40)")
    synth.add_argument("--loop-pitch-jitter-cents", type=float, default=None,
                       help="the same per loop repetition (default 0)")
    synth.add_argument("--sample-tempo-jitter-percent", type=float, default=None,
                       help="each sample occurrence time-stretched by up to ± this many "
                            "percent, pitch kept (default 0)")
    synth.add_argument("--loop-tempo-jitter-percent", type=float, default=None,
                       help="the same per loop repetition (default 0)")
    synth.set_defaults(run=cmd_synth)

    real = commands.add_parser("real-corpus", help="label Debian's tracker music")
    real.add_argument("--out", required=True, type=Path, help="output folder")
    real.add_argument("--sources", type=_comma_list, help="Debian packages (default: all known)")
    real.set_defaults(run=cmd_real_corpus)

    evaluate = commands.add_parser(
        "evaluate", help="recall of a simulated user on a dataset folder (the paper's protocol)"
    )
    evaluate.add_argument(
        "--data", type=Path, default=None,
        help="dataset folder with annotations.csv (default: the built-in demo corpus)",
    )
    evaluate.add_argument("--preset", choices=("app", "paper"), default=None,
                          help="app: exactly what the app and `hunt` do by default (features, "
                               "whitening, strategy, patience); paper: the paper's MFCC naive "
                               "baseline. Not with --features/--strategy/--patience/--whiten")
    evaluate.add_argument("--features", type=_comma_list, default=None,
                          help="comma-separated feature kinds: mfcc, mel, mel-std, learned "
                               "(default mfcc)")
    evaluate.add_argument("--strategy", type=_comma_list, default=None,
                          help="comma-separated strategies (default naive,active)")
    evaluate.add_argument("--patience", type=int, default=None,
                          help="rejections allowed (default 5)")
    evaluate.add_argument("--queries", choices=("first", "all"), default="first",
                          help="query each sound by its first occurrence, or by each in turn")
    evaluate.add_argument("--json", type=Path, help="write the results as JSON here")
    evaluate.add_argument("--plot", type=Path, help="write plotly bar charts (HTML) here")
    evaluate.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    evaluate.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per core)")
    evaluate.add_argument("--checkpoint", type=Path, default=None,
                          help="encoder for --features learned (default checkpoints/default.pt)")
    evaluate.add_argument("--negative-weight", type=float, default=None,
                          help="γ of the active rule, 0–1 (default: session.NEGATIVE_WEIGHT)")
    evaluate.add_argument("--beat-prior", type=float, default=0.0,
                          help="λ of the beat-phase prior (beyond the paper; default 0 = off)")
    evaluate.add_argument("--whiten", type=float, default=None, metavar="SHRINKAGE",
                          help="whiten the features with each track's covariance (beyond the "
                               "paper; e.g. 0.3); default off")
    evaluate.add_argument("--auto-accept", type=_comma_list, default=(),
                          help="confidence thresholds (0–1) at which to simulate accepting "
                               "every remaining candidate after 3 answers, e.g. 0.3,0.5,0.7")
    evaluate.add_argument("--speed-variants", type=_speed_variants, default=(),
                          metavar="PERCENTS",
                          help="match the query also played this many percent faster and "
                               "slower, e.g. 3,6 (beyond the paper; did not help: default off)")
    evaluate.add_argument("--batch", type=int, default=0, metavar="N",
                          help="also simulate the app's batch review: pages of N windows (e.g. "
                               "12), reported next to one at a time as batchN; default 0 = off")
    evaluate.set_defaults(run=cmd_evaluate)

    paired = commands.add_parser(
        "paired", help="paired per-sound margin of one method over another, from two "
                       "`evaluate --json` reports (Wilcoxon signed-rank test)")
    paired.add_argument("a_json", type=Path, help="the first report")
    paired.add_argument("a_method", help="its method, features/strategy, e.g. learned/active")
    paired.add_argument("b_json", type=Path, help="the second report (may be the first)")
    paired.add_argument("b_method", help="its method, e.g. mel-std/active")
    paired.set_defaults(run=cmd_paired)

    train = commands.add_parser(
        "train", help="train the encoder without labels (BYOL + autoencoder) on audio folders"
    )
    train.add_argument("--data", type=Path, nargs="+", required=True,
                       help="folders of audio files (annotations are not needed)")
    train.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt)")
    train.add_argument("--iters", type=int, help="optimiser steps (default 1000)")
    train.add_argument("--batch", type=int, help="excerpts per step over all ranks (default 256)")
    train.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--losses", type=_comma_list, help="byol,ae (default both)")
    train.add_argument("--aug", type=_comma_list,
                       help="augmentations: noise,drop,shift,hpss (paper, default), mix,gain,eq,"
                            "repeat; or none")
    train.add_argument("--excerpt-frames", type=int, help="frames per excerpt (default 64)")
    train.add_argument("--ae-input", choices=("clean", "view"),
                       help="autoencoder input: the clean excerpt (paper) or an augmented view")
    train.add_argument("--dilation-growth", type=int,
                       help="1 (paper) or 2: dilations 1,2,4,8,16 for longer context")
    train.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    train.add_argument("--residual", action="store_true",
                       help="E(x) = x + f(x): starts as the identity on standardised log-mel")
    train.add_argument("--repeat-share", type=float,
                       help="with --aug repeat: share of a batch paired with a repetition "
                            "mined from its own track (default 0.5)")
    train.add_argument("--resume", action="store_true", help="continue an interrupted run")
    train.add_argument("--description", help="training data description for the checkpoint")
    train.set_defaults(run=cmd_train)

    bench = commands.add_parser("bench", help="speed and memory on a generated 7.5-minute track")
    bench.add_argument("--json", type=Path, help="write the results as JSON here")
    bench.add_argument("--duration", type=float, default=450.0,
                       help="track length in seconds (default 450 = 7.5 minutes)")
    bench.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    bench.add_argument("--device", default=None, help="auto (default), cpu or cuda")
    bench.add_argument("--checkpoint", type=Path, default=None,
                       help="encoder for the learned kind (default checkpoints/default.pt)")
    bench.set_defaults(run=cmd_bench)

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
    hunt.add_argument("--name", default="", help="the sound's name in the exports")
    hunt.add_argument("--out", type=Path, nargs="*", default=[],
                      help="export files; the format follows the extension: .csv, .json "
                           "(docs/events.schema.json), .txt (Audacity labels), .mid, .osz "
                           "(osu! beatmap with the song), .zip (Beat Saber map with the song)")
    hunt.add_argument("--answers-from", type=Path, default=None,
                      help="answer from this dataset folder's ground truth instead of asking")
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

    discover = commands.add_parser(
        "discover", help="the repeated sounds of a track worth hunting (no click needed)")
    discover.add_argument("track", type=Path, nargs="?", help="audio file")
    discover.add_argument("--data", type=Path, default=None,
                          help="instead: measure discovery on this dataset folder")
    discover.add_argument("--features", default="learned", help="feature kind (default learned)")
    discover.add_argument("--top", type=int, default=10, help="suggestions per track (10)")
    discover.add_argument("--checkpoint", type=Path, default=None, help="encoder for learned")
    discover.add_argument("--json", type=Path, help="write the suggestions as JSON here")
    discover.set_defaults(run=cmd_discover)

    app = commands.add_parser(
        "app", help="start the app (streamlit run); further options go to streamlit, e.g. "
                    "--server.port 8502",
        description=f"Start the Streamlit app on http://localhost:8501 (needs {APP_EXTRA_HINT}). "
                    "Options after `app` go to `streamlit run`, e.g. --server.port 8502.")
    app.set_defaults(run=cmd_app)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "app":
        args.streamlit_args = rest  # `loopfind app --server.port 8502`, as `./run` takes them
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except LoopfindError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
