"""The dataset format: a folder of audio files with an ``annotations.csv``.

``annotations.csv`` has the header ``file,genre,category,sound,start,end`` and one row per
occurrence of a sound:

- ``file``: the audio file, relative to the folder (no absolute paths, no ``..``);
- ``genre``: free text, e.g. ``House``; one genre per file;
- ``category``: ``sample`` or ``loop``;
- ``sound``: an id, unique within its file; every row of one sound shares its category;
- ``start``, ``end``: seconds, ``0 <= start < end``.

The reader validates everything and reports every bad row by its line number in one
:class:`~loopfind_core.base.errors.DatasetError`.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from loopfind_core.base.errors import DatasetError

ANNOTATIONS_FILE = "annotations.csv"
ANNOTATION_COLUMNS = ("file", "genre", "category", "sound", "start", "end")
CATEGORIES = ("sample", "loop")
MAX_REPORTED_PROBLEMS = 20  # longer reports are cut, with a count of what was left out


@dataclass(frozen=True)
class Annotation:
    """One occurrence of one sound, as one row of ``annotations.csv``."""

    file: str  # path relative to the dataset folder, with forward slashes
    genre: str
    category: str  # "sample" or "loop"
    sound: str  # id unique within its file
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Occurrence:
    """Where one sound occurs: a window in seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SoundTruth:
    """Every annotated occurrence of one sound in one file, sorted by start time."""

    file: str
    genre: str
    category: str
    sound: str
    occurrences: tuple[Occurrence, ...]


@dataclass(frozen=True)
class Dataset:
    """A validated dataset folder."""

    root: Path
    annotations: tuple[Annotation, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """The annotated audio files, in order of first appearance."""
        return tuple(dict.fromkeys(a.file for a in self.annotations))

    def path_of(self, file: str) -> Path:
        return self.root / file

    def sounds(self) -> tuple[SoundTruth, ...]:
        """Every sound with its occurrences, grouped per (file, sound)."""
        return group_sounds(self.annotations)


def group_sounds(annotations: Iterable[Annotation]) -> tuple[SoundTruth, ...]:
    """Group occurrence rows into sounds, keeping the order in which sounds first appear."""
    rows_by_sound: dict[tuple[str, str], list[Annotation]] = defaultdict(list)
    for row in annotations:
        rows_by_sound[(row.file, row.sound)].append(row)
    sounds = []
    for (file, sound), rows in rows_by_sound.items():
        occurrences = tuple(
            sorted((Occurrence(r.start_s, r.end_s) for r in rows), key=lambda o: o.start_s)
        )
        sounds.append(SoundTruth(file, rows[0].genre, rows[0].category, sound, occurrences))
    return tuple(sounds)


def _parse_seconds(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} {text!r} is not a finite number of seconds")
    return value


def _check_relative_file(text: str, root: Path) -> str:
    if not text:
        raise ValueError("file is empty")
    posix = PurePosixPath(text.replace("\\", "/"))
    if posix.is_absolute() or ".." in posix.parts or ":" in posix.parts[0]:
        raise ValueError(f"file {text!r} must be a path inside the dataset folder")
    if not (root / posix).is_file():
        raise ValueError(f"file {text!r} does not exist in {root}")
    return posix.as_posix()


def _parse_row(row: dict[str, str], root: Path) -> Annotation:
    values = {k: (row.get(k) or "").strip() for k in ANNOTATION_COLUMNS}
    file = _check_relative_file(values["file"], root)
    if not values["genre"]:
        raise ValueError("genre is empty")
    if values["category"] not in CATEGORIES:
        raise ValueError(f"category {values['category']!r} must be one of {', '.join(CATEGORIES)}")
    if not values["sound"]:
        raise ValueError("sound is empty")
    start_s = _parse_seconds(values["start"], "start")
    end_s = _parse_seconds(values["end"], "end")
    if start_s < 0:
        raise ValueError(f"start {start_s} s is negative")
    if end_s <= start_s:
        raise ValueError(f"end {end_s} s is not after start {start_s} s")
    return Annotation(file, values["genre"], values["category"], values["sound"], start_s, end_s)


def _consistency_problems(rows: list[tuple[int, Annotation]]) -> list[str]:
    """Rows of one file must share a genre; rows of one sound must share a category."""
    problems = []
    genre_of_file: dict[str, tuple[int, str]] = {}
    category_of_sound: dict[tuple[str, str], tuple[int, str]] = {}
    for line, a in rows:
        first_line, genre = genre_of_file.setdefault(a.file, (line, a.genre))
        if genre != a.genre:
            problems.append(
                f"line {line}: genre {a.genre!r} differs from {genre!r} given for "
                f"{a.file!r} on line {first_line}"
            )
        first_line, category = category_of_sound.setdefault((a.file, a.sound), (line, a.category))
        if category != a.category:
            problems.append(
                f"line {line}: sound {a.sound!r} is a {a.category} here but a {category} "
                f"on line {first_line}"
            )
    return problems


def _raise_if_problems(problems: list[str], csv_path: Path) -> None:
    if not problems:
        return
    shown = problems[:MAX_REPORTED_PROBLEMS]
    more = len(problems) - len(shown)
    tail = f"\n  … and {more} more" if more else ""
    raise DatasetError(
        f"{csv_path} has {len(problems)} problem(s):\n  " + "\n  ".join(shown) + tail
    )


def _read_rows(
    reader: csv.DictReader, root: Path
) -> tuple[list[tuple[int, Annotation]], list[str]]:
    """Parse every row after the header: (line number, annotation) pairs and the problems.

    A line the CSV parser cannot read (e.g. a field over the parser's size limit) is reported
    and ends the reading: where the next row starts is then unknown.
    """
    problems: list[str] = []
    rows: list[tuple[int, Annotation]] = []
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                problems.append(f"line {line}: has more than {len(ANNOTATION_COLUMNS)} columns")
                continue
            if all(not (v or "").strip() for v in row.values()):
                continue  # blank line
            try:
                rows.append((line, _parse_row(row, root)))
            except ValueError as error:
                problems.append(f"line {line}: {error}")
    except csv.Error as error:
        problems.append(
            f"line {reader.line_num + 1}: is not valid CSV ({error}); the lines after it "
            "were not read"
        )
    return rows, problems


def read_dataset(root: str | Path) -> Dataset:
    """Read and validate a dataset folder.

    Raises:
        DatasetError: the folder or ``annotations.csv`` is missing, the header is wrong, or
            rows are bad (each named by its line number).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Dataset folder {str(root)!r} does not exist or is not a folder.")
    csv_path = root / ANNOTATIONS_FILE
    if not csv_path.is_file():
        raise DatasetError(
            f"{str(root)!r} has no {ANNOTATIONS_FILE}: a dataset folder needs one with the "
            f"header {','.join(ANNOTATION_COLUMNS)}."
        )
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{csv_path} could not be read as UTF-8 text ({error}).") from error
    reader = csv.DictReader(text.splitlines())
    try:
        header = tuple((name or "").strip() for name in (reader.fieldnames or ()))
    except csv.Error as error:
        raise DatasetError(
            f"{csv_path} line 1: the header is not valid CSV ({error})."
        ) from error
    if header != ANNOTATION_COLUMNS:
        raise DatasetError(
            f"{csv_path} line 1: the header is {','.join(header) or '(empty)'!s}; "
            f"expected {','.join(ANNOTATION_COLUMNS)}."
        )
    reader.fieldnames = list(ANNOTATION_COLUMNS)
    rows, problems = _read_rows(reader, root)
    problems += _consistency_problems(rows)
    _raise_if_problems(problems, csv_path)
    if not rows:
        raise DatasetError(f"{csv_path} has a header but no annotation rows.")
    return Dataset(root=root, annotations=tuple(a for _, a in rows))


def format_seconds(value: float) -> str:
    """Seconds as written to ``annotations.csv``: millisecond precision, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def write_annotations(path: str | Path, annotations: Iterable[Annotation]) -> None:
    """Write rows in the ``annotations.csv`` format."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ANNOTATION_COLUMNS)
        for a in annotations:
            writer.writerow(
                [a.file, a.genre, a.category, a.sound, format_seconds(a.start_s),
                 format_seconds(a.end_s)]
            )
