"""``loopfind compare``: every feature kind judged against a hunt's answers, as the app's Compare
page judges them (one function, :func:`loopfind_core.interactive.compare.compare_kinds`), or
``--demo``: the measurement that picks the demo's default comparison."""

from __future__ import annotations

import argparse
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.cli.common import comma_list


def _features(audio, checkpoint: Path | None):
    """A ``features(kind, whiten)`` that extracts once per (kind, whiten)."""
    from loopfind_core.features.registry import extract_features

    options = {"checkpoint": str(checkpoint)} if checkpoint else {}
    cache: dict = {}

    def features(kind: str, whiten: float | None):
        if (kind, whiten) not in cache:
            cache[kind, whiten] = extract_features(audio, kind, whiten=whiten, **options)
        return cache[kind, whiten]

    return features


def _print_comparison(comparison) -> None:
    from loopfind_core.interactive.compare import MAX_RANKED_PROPOSALS, verdict

    answers = comparison.answers
    print(f"query {answers.query_start_s:.2f} s + {answers.duration_s:.2f} s; "
          f"{len(answers.confirmed_s)} confirmed, {len(answers.rejected_s)} rejected "
          f"({answers.source})")
    print(f"{'kind':20s} {'judgements':>10s} {'found':>7s} {'unjudged':>8s}  ranks of the "
          "confirmed occurrences (time order)")
    for r in comparison.results:
        ranks = " ".join(str(x) if x else f">{MAX_RANKED_PROPOSALS}" for x in r.ranks)
        print(f"{r.label:20s} {r.hunt.judgements:10d} {r.hunt.found:3d}/{r.hunt.total:<3d} "
              f"{r.hunt.unknown:8d}  {ranks}")
    for line in comparison.skipped:
        print(f"skipped {line}")
    for whitened in (True, False):
        found = verdict(comparison, whitened)
        if found is not None:
            print(found.text)


def cmd_compare(args: argparse.Namespace) -> int:
    from loopfind_core.base.audio import load_audio
    from loopfind_core.interactive import compare

    if args.demo:
        from loopfind_core.corpus.dataset import read_dataset
        from loopfind_core.corpus.demo import ensure_demo_track

        dataset = read_dataset(ensure_demo_track())
        path = dataset.path_of(dataset.files[0])
        features = _features(load_audio(path), args.checkpoint)
        rows = compare.measure_demo_sounds(features, dataset.sounds(), path.name, args.kinds)
        print(f"{'sound':24s} {'occ':>3s} " + " ".join(f"{k:>8s}" for k in args.kinds)
              + "   spread (judgements, whitened, ground truth answering)")
        for m in rows:
            print(f"{m.sound:24s} {m.occurrences:3d} "
                  + " ".join(f"{m.judgements.get(k, 0):8d}" for k in args.kinds)
                  + f"   {m.spread}")
        if rows:
            print(f"default comparison: {rows[0].sound} (the app uses "
                  f"{compare.DEMO_COMPARISON_SOUND})")
        return 0
    if args.track is None or args.answers is None:
        raise LoopfindError("Give a TRACK and --answers FILE (or --demo).")
    answers = compare.read_answers(Path(args.answers).read_text(), args.query_start)
    audio = load_audio(args.track)
    comparison = compare.compare_kinds(_features(audio, args.checkpoint), answers, args.kinds,
                                       strategy=args.strategy)
    _print_comparison(comparison)
    if args.csv:
        args.csv.write_text(compare.comparison_csv(comparison))
    if args.html:
        from loopfind_core.interactive.compare_figures import comparison_html

        args.html.write_text(comparison_html(comparison, True, compare.verdict(comparison, True)))
    return 0


def add_compare_command(commands: argparse._SubParsersAction) -> None:
    from loopfind_core.interactive.compare import COMPARED_KINDS

    parser = commands.add_parser(
        "compare", help="judge every feature kind against a hunt's answers (as the app does)")
    parser.add_argument("track", nargs="?", type=Path, help="the hunted track's audio")
    parser.add_argument("--answers", type=Path,
                        help="the Compare page's answers JSON, or the Export page's events JSON "
                             "(then no window is known to be rejected)")
    parser.add_argument("--query-start", type=float,
                        help="with an events JSON: the query's start (s); default its first "
                             "event")
    parser.add_argument("--kinds", type=comma_list, default=COMPARED_KINDS)
    parser.add_argument("--strategy", choices=("naive", "active"), default="active")
    parser.add_argument("--checkpoint", type=Path, help="the learned kind's checkpoint")
    parser.add_argument("--csv", type=Path, help="write the ranks and judgements here")
    parser.add_argument("--html", type=Path, help="write the figures and verdict here")
    parser.add_argument("--demo", action="store_true",
                        help="measure every demo sound: the one whose kinds differ most is the "
                             "demo's default comparison")
    parser.set_defaults(run=cmd_compare)
