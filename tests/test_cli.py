"""The command line: hunt (asking, or answering from a ground truth), evaluate, synth."""

from __future__ import annotations

import csv
import json

import pytest

from loopfind_core.cli import build_parser, main
from loopfind_core.corpus.dataset import read_dataset
from loopfind_core.corpus.demo import ensure_demo_track


def test_cli_hunt_answers_from_ground_truth_and_writes_every_format(tmp_path, capsys):
    folder = ensure_demo_track()
    stab = {s.sound: s for s in read_dataset(folder).sounds()}["loop_stab_1"]
    query = stab.occurrences[0]
    outs = [tmp_path / f"e.{x}" for x in ("csv", "json", "txt", "mid", "osz", "zip")]
    code = main(["hunt", str(folder / "track_000_house.flac"), "--start", str(query.start_s),
                 "--duration", str(query.duration_s), "--features", "mel",
                 "--answers-from", str(folder), "--name", "stab", "--out", *map(str, outs)])
    assert code == 0
    document = json.loads(outs[1].read_text())
    (sound,) = document["sounds"]
    assert sound["name"] == "stab" and len(sound["events"]) >= 4
    assert all(path.stat().st_size > 0 for path in outs)
    assert main(["hunt", str(folder / "track_000_house.flac"), "--start", "1",
                 "--duration", "1", "--out", str(tmp_path / "x.xml")]) == 2
    assert "Cannot tell the export format" in capsys.readouterr().err


def test_cli_hunt_asks_and_understands_undo_and_done(planted_wav, tmp_path, monkeypatch, capsys):
    replies = iter(["y", "?", "u", "y", "n", "d"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(replies))
    out = tmp_path / "zap.csv"
    assert main(["hunt", str(planted_wav), "--start", "3.1", "--duration", "0.6",
                 "--features", "mfcc", "--review", "one", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2  # the query and the one kept "yes" (undo took the first back)
    assert "answer with" in capsys.readouterr().out


def test_cli_evaluate_writes_json_and_plot(tiny_dataset, tmp_path, capsys):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code = main([
        "evaluate", "--data", str(tiny_dataset), "--features", "mfcc", "--strategy", "active",
        "--jobs", "2", "--json", str(out_json), "--plot", str(out_html),
    ])
    assert code == 0
    payload = json.loads(out_json.read_text())
    assert {"results", "seconds"} <= payload.keys()
    keys = {"features", "strategy", "category", "genre", "recall", "n_sounds"}
    assert all(keys <= row.keys() for row in payload["results"])
    assert any(r["genre"] == "all" and r["category"] == "all" for r in payload["results"])
    assert all(r["answers_per_found"] is None or r["answers_per_found"] >= 1
               for r in payload["results"])
    assert all(0 <= r["complete_share"] <= 1 for r in payload["results"])
    assert "plotly" in out_html.read_text()[:200000].lower()
    assert "mfcc/active" in capsys.readouterr().out


def test_cli_reports_user_errors(tmp_path, capsys):
    assert main(["evaluate", "--data", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path), "--features", "sift"]) == 2
    assert "Unknown feature kind" in capsys.readouterr().err


def test_cli_synth(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "c"), "--tracks", "1", "--seed", "3"]) == 0
    assert (tmp_path / "c" / "annotations.csv").is_file()
    assert main(["synth", "--out", str(tmp_path / "d"), "--tracks", "0"]) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_expands_speed_variants_both_ways():
    args = build_parser().parse_args(["evaluate", "--speed-variants", "6,3"])
    assert args.speed_variants == (-6.0, -3.0, 3.0, 6.0)
    args = build_parser().parse_args(["evaluate", "--speed-variants", "3"])
    assert args.speed_variants == (-3.0, 3.0)
    args = build_parser().parse_args(["synth", "--out", "x", "--loop-tempo-jitter-percent", "4"])
    assert args.loop_tempo_jitter_percent == 4.0 and args.sample_pitch_jitter_cents is None


def test_cli_evaluate_preset_app_is_the_shipped_hunt_default(tiny_dataset, tmp_path, capsys,
                                                             monkeypatch):
    from loopfind_core.retrieval.defaults import APP_HUNT

    seen = {}

    def fake_evaluate(data, config, progress):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr("loopfind_core.research.evaluate.evaluate_dataset", fake_evaluate)
    try:
        main(["evaluate", "--data", str(tiny_dataset), "--preset", "app"])
    except SystemExit:
        pass
    config = seen["config"]
    assert (config.features, config.strategies, config.patience, config.whiten) == (
        (APP_HUNT.kind,), (APP_HUNT.strategy,), APP_HUNT.patience, APP_HUNT.whiten)
    assert build_parser().parse_args(["hunt", "x.wav", "--start", "1", "--duration", "1"]
                                     ).features is None  # resolved to APP_HUNT.kind when run
    assert main(["evaluate", "--data", str(tiny_dataset), "--preset", "paper",
                 "--whiten", "0.3"]) == 2
    assert "drop --whiten" in capsys.readouterr().err


def test_cli_paired_compares_two_methods_of_one_report(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate", "--data", str(tiny_dataset), "--features", "mfcc,mel",
                 "--strategy", "active", "--jobs", "1", "--json", str(out)]) == 0
    assert "mfcc/active − mel/active" in capsys.readouterr().out  # printed by evaluate too
    assert main(["paired", str(out), "mfcc/active", str(out), "mel/active"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and all(line.split(":")[0] in ("sample", "loop") for line in lines)
    assert "Wilcoxon p" in lines[0]
    assert main(["paired", str(tmp_path / "none.json"), "a/b", str(out), "mel/active"]) == 2


def _dataset_in_subfolder(tiny_dataset, root):
    """The tiny dataset with its files under ``sub/`` and its annotations at ``root``."""
    import shutil

    from loopfind_core.corpus.dataset import Annotation, write_annotations

    (root / "sub").mkdir(parents=True)
    dataset = read_dataset(tiny_dataset)
    for name in dataset.files:
        shutil.copyfile(tiny_dataset / name, root / "sub" / name)
    write_annotations(root / "annotations.csv", [
        Annotation(f"sub/{a.file}", a.genre, a.category, a.sound, a.start_s, a.end_s)
        for a in dataset.annotations])
    return root


def test_cli_hunt_finds_the_truth_of_files_in_a_subfolder(tiny_dataset, tmp_path):
    root = _dataset_in_subfolder(tiny_dataset, tmp_path / "data")
    chirp = next(s for s in read_dataset(root).sounds() if s.file == "sub/t0.wav"
                 and s.sound == "chirp")
    query = chirp.occurrences[0]
    out = tmp_path / "e.csv"
    assert main(["hunt", str(root / "sub" / "t0.wav"), "--start", str(query.start_s),
                 "--duration", str(query.duration_s), "--features", "mfcc",
                 "--answers-from", str(root), "--out", str(out)]) == 0
    assert len(list(csv.DictReader(out.open()))) == len(chirp.occurrences)


def test_cli_library_hunt_answers_from_the_truth_and_writes_every_out(tiny_dataset, tmp_path,
                                                                    capsys):
    from loopfind_core.library.store import build_index

    root = _dataset_in_subfolder(tiny_dataset, tmp_path / "data")
    index = tmp_path / "index"
    build_index(root / "sub", index, kind="mfcc", jobs=1)  # indexed names: t0.wav, t1.wav
    sounds = read_dataset(root).sounds()
    query = next(s for s in sounds if s.file == "sub/t0.wav" and s.sound == "chirp")
    outs = [tmp_path / "found.csv", tmp_path / "found.json"]
    assert main(["hunt", str(root / "sub" / "t0.wav"), "--index", str(index), "--start",
                 str(query.occurrences[0].start_s), "--duration",
                 str(query.occurrences[0].duration_s), "--shortlist", "0", "--patience", "3",
                 "--answers-from", str(root), "--out", *map(str, outs)]) == 0
    rows = list(csv.DictReader(outs[0].open()))
    found = {(r["track"], round(float(r["start"]), 1)) for r in rows}
    truth = {(s.file.split("/")[-1], round(o.start_s, 1))
             for s in sounds if s.sound == "chirp" for o in s.occurrences}
    assert len(found & truth) >= 5 and {t for t, _ in found} == {"t0.wav", "t1.wav"}
    for track in ("t0", "t1"):
        document = json.loads((tmp_path / f"found-{track}.json").read_text())
        assert len(document["sounds"][0]["events"]) == sum(
            1 for r in rows if r["track"] == f"{track}.wav")
    assert ": yes" in capsys.readouterr().out


def test_cli_hunt_with_stdin_closed_asks_nothing_and_says_what_to_do(planted_wav, monkeypatch,
                                                                   capsys):
    monkeypatch.setattr("sys.stdin", None)  # `loopfind hunt … <&-`
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    assert main(["hunt", str(planted_wav), "--start", "3.1", "--duration", "0.6",
                 "--features", "mfcc"]) == 2
    err = capsys.readouterr().err
    assert "--answers-from" in err and "Traceback" not in err and not asked


def test_cli_hunt_at_the_end_of_stdin_stops_with_a_message(planted_wav, monkeypatch, capsys):
    def end_of_input(prompt: str) -> str:
        raise EOFError  # `loopfind hunt … < /dev/null`

    monkeypatch.setattr("builtins.input", end_of_input)
    assert main(["hunt", str(planted_wav), "--start", "3.1", "--duration", "0.6",
                 "--features", "mfcc"]) == 2
    err = capsys.readouterr().err
    assert "--answers-from" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def busy_dataset(tmp_path_factory):
    """A dataset of one song of the real corpus's kind (a tracker module whose kick plays
    80 times), rendered and labelled as the corpus is: (folder, the kick's truth)."""
    import soundfile as sf

    from loopfind_core.corpus.dataset import Annotation, write_annotations
    from testkit.corpus_song import labelled_song
    from testkit.tracker import write_busy_module

    folder = tmp_path_factory.mktemp("busy")
    write_busy_module(folder / "busy.mod")
    mix, sounds = labelled_song(folder / "busy.mod", "busy", 300.0)
    sf.write(folder / "busy.wav", mix, 22050)
    write_annotations(folder / "annotations.csv", [
        Annotation("busy.wav", "Tracker", s.category, s.sound, a, b)
        for s in sounds for a, b in s.occurrences])
    kick = max((s for s in read_dataset(folder).sounds() if s.category == "sample"),
               key=lambda s: len(s.occurrences))
    return folder, kick


def test_cli_hunt_reviews_a_busy_sound_in_pages_and_stops_when_none_is_left(busy_dataset,
                                                                           tmp_path, capsys):
    folder, kick = busy_dataset
    out = tmp_path / "kick.csv"
    query = kick.occurrences[0]
    assert main(["hunt", str(folder / "busy.wav"), "--start", str(query.start_s),
                 "--duration", str(query.duration_s), "--answers-from", str(folder),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "page of " in printed and "(chance " in printed  # pages while matches are dense
    assert "Probably none left" in printed.splitlines()[-3]  # the last answer's summary
    starts = [float(r["start"]) for r in csv.DictReader(out.open())]
    truth = [o.start_s for o in kick.occurrences]
    found = {min(range(len(truth)), key=lambda i: abs(truth[i] - s)) for s in starts}
    assert len(found) == len(starts) >= 0.9 * len(truth)  # one event per occurrence


def test_cli_hunt_asks_a_page_keeps_its_ticks_or_flips_them(busy_dataset, tmp_path,
                                                           monkeypatch, capsys):
    folder, kick = busy_dataset
    replies = iter(["x", "1 99", "1", "d"])  # two mistakes, then untick the first, then done
    asked: list[str] = []
    monkeypatch.setattr("builtins.input",
                        lambda prompt: asked.append(prompt) or next(replies))
    out = tmp_path / "kick.csv"
    query = kick.occurrences[0]
    assert main(["hunt", str(folder / "busy.wav"), "--start", str(query.start_s),
                 "--duration", str(query.duration_s), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert asked[0].startswith("Enter or [y] keeps the ticks")  # a dense sound starts in pages
    assert "answer with Enter" in printed and "numbers from 1 to 12" in printed
    page = printed.split("page of ", 1)[1]
    ticked = page.count("[x]", 0, page.index("answer with"))  # as first shown
    first = float(page.split(" 1. at ", 1)[1].split(" s", 1)[0])
    starts = [float(r["start"]) for r in csv.DictReader(out.open())]
    assert ticked > 1 and len(starts) == 1 + ticked - 1  # the query, the ticks but the first
    assert all(abs(s - first) > 0.05 for s in starts)
