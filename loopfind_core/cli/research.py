"""The research commands: corpora (synth, real-corpus), evaluate, paired, calibrate, train, bench,
discover."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.progress import no_progress
from loopfind_core.cli.common import comma_list, progress_bar, speed_variant_list

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


def cmd_real_corpus(args: argparse.Namespace) -> int:
    from loopfind_core.corpus.tracker import build_real_corpus, summary_lines

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    with progress_bar("rendering modules") as progress:
        summary = build_real_corpus(args.out, sources=args.sources, progress=progress)
    print("\n".join(summary_lines(summary, args.out)))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from loopfind_core.research.calibrate import (
        collect_evidence,
        fit_match_model,
        leave_one_group_out,
        reliability,
    )

    with progress_bar("hunting from the truth") as progress:
        evidence = collect_evidence(args.data, args.checkpoint, progress, args.feature_cache)
    model = fit_match_model(evidence, fitted_on=f"{args.data} (the app's method, first "
                                                "queries, every open window)")
    model.save(args.out)
    print(f"fitted on {len(evidence.is_match)} open windows; wrote {args.out}")
    tables = {str(args.data): reliability(model, evidence)}
    for check in args.check:
        tables[str(check)] = reliability(model, collect_evidence(
            check, args.checkpoint, feature_cache=args.feature_cache))
    if args.by_package:
        packages = _package_of_file()
        for group, bins in leave_one_group_out(evidence, packages).items():
            tables[f"{group} (fitted without it)"] = bins
    for name, bins in tables.items():
        print(f"reliability on {name}: predicted → observed share of yes (open windows)")
        for b in bins:
            print(f"  [{b.low:.2f}, {b.high:.2f})  {b.predicted:.3f} → {b.observed:.3f}  "
                  f"({b.n_windows:.0f})")
    return 0


def _package_of_file():
    """A real-corpus file name's Debian package (``<package>-<module>.wav``)."""
    from loopfind_core.corpus.tracker import SOURCES

    names = sorted((s.package for s in SOURCES), key=len, reverse=True)
    return lambda file: next((n for n in names if str(file).startswith(n + "-")), "other")


def _evaluated_method(args: argparse.Namespace) -> dict:
    """features, strategies, patience and whitening, from ``--preset`` or the single flags."""
    from loopfind_core.retrieval.defaults import HUNT_PRESETS

    single = {"features": args.features, "strategies": args.strategy,
              "patience": args.patience, "whiten": args.whiten, "review": args.review}
    if args.preset is None:  # what is not given keeps EvaluationConfig's default
        return {k: v for k, v in single.items() if v is not None}
    flags = {"features": "--features", "strategies": "--strategy", "patience": "--patience",
             "whiten": "--whiten", "review": "--review"}
    given = [flags[k] for k, v in single.items() if v is not None]
    if given:
        raise LoopfindError(f"--preset {args.preset} sets the method: drop {', '.join(given)}.")
    preset = HUNT_PRESETS[args.preset]
    return {"features": (preset.kind,), "strategies": (preset.strategy,),
            "patience": preset.patience, "whiten": preset.whiten,
            "review": "adaptive" if preset.review.adaptive else "one"}


def _paired_lines(sounds_a, method_a: str, sounds_b, others: Sequence[str]) -> str:
    from loopfind_core.research.paired import format_margins, paired_margins, recall_by_sound

    a = recall_by_sound(sounds_a, method_a)
    return "\n".join(format_margins(paired_margins(a, recall_by_sound(sounds_b, other),
                                                   method_a, other)) for other in others)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from loopfind_core.corpus.demo import ensure_demo_corpus
    from loopfind_core.research.evaluate import EvaluationConfig, evaluate_dataset
    from loopfind_core.research.reports import (
        format_auto_accept,
        format_bands,
        format_effort,
        format_estimates,
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
    if args.feature_cache is not None:
        options["feature_cache"] = str(args.feature_cache)
    config = EvaluationConfig(queries=args.queries, device=args.device, jobs=args.jobs,
                              **options)
    with progress_bar("evaluating") as progress:
        report = evaluate_dataset(data, config, progress)
    print(format_table(report))
    print()
    print(format_effort(report))
    print()
    print(format_bands(report))
    if report.estimates:
        print()
        print("the chance shown against the truth (adaptive review):")
        print(format_estimates(report))
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


def cmd_paired(args: argparse.Namespace) -> int:
    from loopfind_core.research.paired import sounds_of_json

    print(_paired_lines(sounds_of_json(args.a_json), args.a_method, sounds_of_json(args.b_json),
                        [args.b_method]))
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
        "temperature": args.temperature, "contrastive_on": args.contrastive_on,
        "stems_share": args.stems_share, "contrastive_frames": args.contrastive_frames,
        "stems_single": args.stems_single,
    }
    config = with_overrides(TrainConfig(), **{k: v for k, v in overrides.items() if v is not None})
    first_rank = int(os.environ.get("RANK", "0")) == 0  # under torchrun: one bar, one "wrote"
    bar = (progress_bar("training", unit="step") if first_rank
           else contextlib.nullcontext(no_progress))
    with bar as progress:
        result = train(args.data, args.out, config, device=args.device, resume=args.resume,
                       progress=progress, description=args.description or "",
                       stems=args.stems, init=args.init)
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


def add_research_commands(commands: argparse._SubParsersAction) -> None:
    """The research commands' parsers."""
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
    real.add_argument("--sources", type=comma_list, help="Debian packages (default: all known)")
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
                               "baseline. Not with --features, --strategy, --patience, "
                               "--whiten")
    evaluate.add_argument("--features", type=comma_list, default=None,
                          help="comma-separated feature kinds: mfcc, mel, mel-std, learned "
                               "(default mfcc)")
    evaluate.add_argument("--strategy", type=comma_list, default=None,
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
    evaluate.add_argument("--auto-accept", type=comma_list, default=(),
                          help="chance thresholds (0–1) at which to simulate accepting "
                               "every remaining candidate after 3 answers, e.g. 0.3,0.5,0.7")
    evaluate.add_argument("--speed-variants", type=speed_variant_list, default=(),
                          metavar="PERCENTS",
                          help="match the query also played this many percent faster and "
                               "slower, e.g. 3,6 (beyond the paper; did not help: default off)")
    evaluate.add_argument("--feature-cache", type=Path, default=None, metavar="DIR",
                          help="keep computed features in DIR and reuse them (research runs)")
    evaluate.add_argument("--review", choices=("one", "adaptive"), default=None,
                          help="one: the paper's one window per answer, patience in all "
                               "(default); adaptive: the app's pages of likely windows and "
                               "its expected-matches stop, patience in a row")
    evaluate.add_argument("--batch", type=int, default=0, metavar="N",
                          help="also simulate the app's batch review: pages of N windows (e.g. "
                               "12), reported next to one at a time as batchN; default 0 = off")
    evaluate.set_defaults(run=cmd_evaluate)

    calibrate = commands.add_parser(
        "calibrate", help="fit the match model (auto-accept's estimated precision) on "
                          "a dataset's ground truth")
    calibrate.add_argument("--data", type=Path, required=True,
                           help="dataset folder: the real corpus's training split")
    calibrate.add_argument("--out", type=Path, required=True, help="model file to write (.json)")
    calibrate.add_argument("--check", type=Path, nargs="*", default=[],
                           help="dataset folders to show the model's reliability on too")
    calibrate.add_argument("--feature-cache", type=Path, default=None, metavar="DIR",
                           help="keep computed features in DIR and reuse them")
    calibrate.add_argument("--by-package", action="store_true",
                           help="also fit without each Debian package in turn and report how "
                                "the model holds on the package it did not see")
    calibrate.add_argument("--checkpoint", type=Path, default=None,
                           help="encoder of the learned kind (default checkpoints/default.pt)")
    calibrate.set_defaults(run=cmd_calibrate)

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
    train.add_argument("--losses", "--loss", type=comma_list,
                       help="byol,ae (default both), nce (contrastive, in-batch negatives)")
    train.add_argument("--aug", type=comma_list,
                       help="augmentations: noise,drop,shift,hpss (paper, default), mix,gain,eq,"
                            "repeat,stems,stemrep (the last two need --stems); or none")
    train.add_argument("--stems", type=Path, default=None,
                       help="with --aug stems: folder of <song>/ folders of stems, each "
                            "sample-aligned with the training file <song>.wav")
    train.add_argument("--stems-share", type=float,
                       help="with --aug stems: share of a batch given stem views (default 0.75)")
    train.add_argument("--stems-single", type=float,
                       help="with --aug stems: share of stem views whose sound is one stem alone "
                            "(default 0)")
    train.add_argument("--temperature", type=float, help="τ of --losses nce (default 0.1)")
    train.add_argument("--init", type=Path, default=None,
                       help="start from this checkpoint's encoder and input normalisation "
                            "(same architecture): fine-tuning")
    train.add_argument("--contrastive-frames", type=int,
                       help="nce items: segments of this many frames, their neighbours in time "
                            "among the negatives (default 0: whole excerpts)")
    train.add_argument("--contrastive-on", choices=("encoder", "projector"),
                       help="what nce compares: the encoder's output (default) or the projector's")
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
