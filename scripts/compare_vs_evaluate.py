"""The Compare page's verdict next to ``evaluate`` on real-corpus songs.

    .venv/bin/python scripts/compare_vs_evaluate.py --data /tmp/real_c/dev --songs 5 --out DIR

For each of the first ``--songs`` songs (file order), the sound with the most occurrences
(at least 5): a user hunts it as the app does by default (``APP_HUNT``), answering from the
truth; those answers (confirmed and rejected windows) are written as an answers file and
judged by ``compare_kinds`` (what the page shows). The same sounds are copied into a small
dataset under ``--out`` on which ``loopfind evaluate --features mfcc,learned --strategy active
--whiten 0.3 --queries first --patience 5`` is run, for its per-sound recall and answers.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopfind_core.base.audio import load_audio  # noqa: E402
from loopfind_core.corpus.dataset import read_dataset  # noqa: E402
from loopfind_core.corpus.truth import simulate_user  # noqa: E402
from loopfind_core.features.registry import extract_features  # noqa: E402
from loopfind_core.interactive import compare  # noqa: E402
from loopfind_core.retrieval.defaults import APP_HUNT  # noqa: E402
from loopfind_core.retrieval.session import RetrievalSession  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    dataset = read_dataset(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen, rows = [], []
    for file in dataset.files:
        sounds = [s for s in dataset.sounds() if s.file == file and len(s.occurrences) >= 5]
        if sounds:
            chosen.append(max(sounds, key=lambda s: (len(s.occurrences), s.sound)))
        if len(chosen) == args.songs:
            break
    subset = args.out / "dataset"
    subset.mkdir(exist_ok=True)
    with open(subset / "annotations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "genre", "category", "sound", "start", "end"])
        for sound in chosen:
            (subset / sound.file).unlink(missing_ok=True)
            (subset / sound.file).symlink_to(dataset.path_of(sound.file).resolve())
            for o in sound.occurrences:
                writer.writerow([sound.file, sound.genre, sound.category, sound.sound,
                                 o.start_s, o.end_s])
    for sound in chosen:
        audio = load_audio(dataset.path_of(sound.file))
        cache: dict = {}

        def features(kind, whiten, audio=audio, cache=cache):
            if (kind, whiten) not in cache:
                cache[kind, whiten] = extract_features(audio, kind, whiten=whiten)
            return cache[kind, whiten]

        query = sound.occurrences[0]
        session = RetrievalSession(features(APP_HUNT.kind, APP_HUNT.whiten), query.start_s,
                                   query.duration_s, APP_HUNT.patience, APP_HUNT.strategy,
                                   device="cpu")
        simulate_user(session, sound.occurrences, 0)
        answers = compare.answers_from_session(session, sound.file)
        answers_path = args.out / f"{Path(sound.file).stem}-answers.json"
        answers_path.write_text(answers.to_json())
        result = compare.compare_kinds(features, answers)
        found = compare.verdict(result, True)
        rows.append({"file": sound.file, "sound": sound.sound,
                     "occurrences": len(sound.occurrences),
                     "confirmed": len(answers.confirmed_s), "rejected": len(answers.rejected_s),
                     "answers_file": str(answers_path),
                     "judgements": {r.label: [r.hunt.judgements, r.hunt.found, r.hunt.total,
                                              r.hunt.unknown] for r in result.results},
                     "verdict": found.text if found else None})
        print(f"{sound.file} {sound.sound}: {rows[-1]['verdict']}", flush=True)
    report = args.out / "evaluate.json"
    subprocess.run([sys.executable, "-m", "loopfind_core", "evaluate", "--data", str(subset),
                    "--features", "mfcc,learned", "--strategy", "active", "--whiten", "0.3",
                    "--queries", "first", "--patience", "5", "--json", str(report)], check=True)
    (args.out / "compare.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
