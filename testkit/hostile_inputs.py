"""A deterministic corpus of broken and hostile inputs for every way data enters Loopfind.

Each :class:`HostileInput` names what reads it (``target``):

- ``"audio"``: the bytes of an uploaded or opened audio file (``load_audio``);
- ``"dataset"``: the text of a dataset folder's ``annotations.csv`` (``read_dataset``), whose
  folder also holds a small valid ``track.wav``;
- ``"checkpoint"``: the bytes of an encoder checkpoint (``load_encoder``).

``expect`` is ``"ok"`` for input that is legitimately fine, else the name of the
:class:`~loopfind_core.errors.LoopfindError` subclass it must raise, with ``fragment`` a few
words its message must contain. ``file_name`` is the name a user would give the file; in the
``hostile name`` cases the name itself is the attack and the content is a valid track.

Content is built on demand (:func:`content_of`, cached): the 20- and 40-minute tracks are a few
tens of MB at 8 kHz, built in well under a second, and never written to the repository.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

GOOD_RATE_HZ = 22050
MARKER_NAME = "loopfind-pwned-marker"  # what a code-running payload would create
AUDIO_EXTENSIONS = ("wav", "mp3", "ogg", "flac")


@dataclass(frozen=True)
class HostileInput:
    case: str  # unique id (the pytest id)
    file_name: str  # the name a user gives the file (may itself be hostile)
    target: str  # "audio", "dataset" or "checkpoint"
    expect: str  # "ok", or the LoopfindError subclass name: "AudioError", ...
    fragment: str  # words the error message contains ("" when expect == "ok")
    build: Callable[[Path], bytes]  # the content; the argument is the marker folder
    runs_code: bool = False  # a payload that would create the marker if it were ever executed


# ----- audio builders ------------------------------------------------------------------------


def noise(duration_s: float, sr_hz: int, channels: int = 1, level: float = 0.1,
          seed: int = 0) -> np.ndarray:
    """Deterministic white noise, float32, shape (frames, channels)."""
    rng = np.random.default_rng(seed)
    frames = int(round(duration_s * sr_hz))
    return (level * rng.standard_normal((frames, channels))).astype(np.float32)


def encode(samples: np.ndarray, sr_hz: int, fmt: str, subtype: str | None = None) -> bytes:
    """``samples`` (frames, channels) encoded in memory by libsndfile."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, sr_hz, format=fmt, subtype=subtype)
    return without_peak_timestamp(buffer.getvalue())


def without_peak_timestamp(data: bytes) -> bytes:
    """libsndfile stamps the time into a float WAV's PEAK chunk; zero it, so the same samples
    always give the same bytes."""
    at = data.find(b"PEAK", 12, 200)
    if at < 0 or not data.startswith(b"RIFF"):
        return data
    return data[: at + 12] + bytes(4) + data[at + 16 :]


def good_wav(duration_s: float = 3.0) -> bytes:
    """A valid 16-bit mono WAV of noise at 22050 Hz."""
    return encode(noise(duration_s, GOOD_RATE_HZ), GOOD_RATE_HZ, "WAV", "PCM_16")


def good_file(extension: str, duration_s: float = 3.0) -> bytes:
    """A valid stereo file of ``extension`` (wav, mp3, ogg, flac) at 44100 Hz."""
    fmt = {"wav": "WAV", "mp3": "MP3", "ogg": "OGG", "flac": "FLAC"}[extension]
    subtype = "VORBIS" if extension == "ogg" else None
    data = encode(noise(duration_s, 44100, channels=2), 44100, fmt, subtype)
    return with_fixed_ogg_serial(data) if extension == "ogg" else data


OGG_CRC_POLYNOMIAL = 0x04C11DB7


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial 0."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ OGG_CRC_POLYNOMIAL if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def with_fixed_ogg_serial(data: bytes, serial: int = 1) -> bytes:
    """``data`` with every Ogg page's stream serial number set to ``serial`` (libsndfile picks
    a random one) and its checksum recomputed: the same input then gives the same bytes."""
    out, offset = bytearray(), 0
    while offset + 27 <= len(data) and data[offset : offset + 4] == b"OggS":
        n_segments = data[offset + 26]
        body = sum(data[offset + 27 : offset + 27 + n_segments])
        page = bytearray(data[offset : offset + 27 + n_segments + body])
        page[14:18] = struct.pack("<I", serial)
        page[22:26] = b"\0\0\0\0"
        page[22:26] = struct.pack("<I", ogg_crc(bytes(page)))
        out += page
        offset += len(page)
    return bytes(out + data[offset:])


def truncated(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def pcm16_wav(
    pcm: bytes, sr_hz: int = GOOD_RATE_HZ, channels: int = 1, claimed_data_bytes: int | None = None
) -> bytes:
    """A hand-made 16-bit PCM WAV whose header may lie: ``claimed_data_bytes`` in the data
    chunk, ``channels`` and ``sr_hz`` in the fmt chunk, whatever ``pcm`` really holds."""
    claimed = len(pcm) if claimed_data_bytes is None else claimed_data_bytes
    block_align = 2 * channels
    fmt_chunk = struct.pack("<HHIIHH", 1, channels, sr_hz, sr_hz * block_align, block_align, 16)
    riff_size = min(2**32 - 1, 4 + 8 + len(fmt_chunk) + 8 + claimed)
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
            + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
            + b"data" + struct.pack("<I", claimed) + pcm)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def long_wav(minutes: float, sr_hz: int = 8000) -> bytes:
    """``minutes`` of quiet noise as 16-bit mono WAV at 8 kHz (≈ 0.96 MB per minute)."""
    rng = np.random.default_rng(7)
    frames = int(minutes * 60 * sr_hz)
    pcm = rng.integers(-300, 300, size=frames, dtype=np.int16).astype("<i2").tobytes()
    return pcm16_wav(pcm, sr_hz)


def float_wav_with(value: float, duration_s: float = 2.0) -> bytes:
    """A 32-bit float WAV of noise with ``value`` written into every 1000th sample."""
    samples = noise(duration_s, GOOD_RATE_HZ)
    samples[::1000] = value
    return encode(samples, GOOD_RATE_HZ, "WAV", "FLOAT")


def constant_wav(level: float, duration_s: float = 3.0) -> bytes:
    samples = np.full((int(duration_s * GOOD_RATE_HZ), 1), level, np.float32)
    return encode(samples, GOOD_RATE_HZ, "WAV", "PCM_16")


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(size)


PNG_1X1 = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
           b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
           b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def zip_bomb_like() -> bytes:
    """A zip whose single member inflates 1000-fold (1 MB of zeros), named like audio."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        member = zipfile.ZipInfo("track.wav", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(member, bytes(1 << 20), compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# ----- checkpoint builders -------------------------------------------------------------------


class _ShellPayload:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class _ExecPayload:
    """Unpickling this runs Python code (no shell) that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def raw_pickle_payload(marker_dir: Path) -> bytes:
    """A plain pickle (the legacy torch format) whose loading would touch the marker."""
    payload = {"format": "loopfind-encoder", "state_dict": _ShellPayload(marker_dir / MARKER_NAME)}
    return pickle.dumps(payload, protocol=2)


def torch_zip_payload(marker_dir: Path) -> bytes:
    """A current-format torch checkpoint (zip) whose data.pkl would run code when unpickled."""
    import torch

    buffer = io.BytesIO()
    torch.save({"format": "loopfind-encoder", "format_version": 1,
                "metadata": _ExecPayload(marker_dir / MARKER_NAME)}, buffer)
    return buffer.getvalue()


def foreign_model_checkpoint() -> bytes:
    """A valid torch file holding another model's weights (a small MLP's state_dict)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def loopfind_checkpoint(mutate: Callable[[dict], None] | None = None) -> bytes:
    """A freshly initialised (untrained) Loopfind encoder checkpoint, optionally altered."""
    import torch

    from loopfind_core.features.encoder import (
        CHECKPOINT_FORMAT,
        CHECKPOINT_FORMAT_VERSION,
        FEATURE_PARAMETERS,
        Encoder,
        EncoderConfig,
        normalization_from,
    )

    torch.manual_seed(0)
    config = EncoderConfig(channels=16, layers=2)
    encoder = Encoder(config)
    payload = {
        "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_FORMAT_VERSION,
        "config": dict(config.__dict__), "features": dict(FEATURE_PARAMETERS),
        "normalization": normalization_from(np.full(128, -40.0), np.full(128, 10.0)),
        "state_dict": {k: v.clone() for k, v in encoder.state_dict().items()},
        "metadata": {"note": "hostile-inputs corpus"},
    }
    if mutate is not None:
        mutate(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _nan_weights(payload: dict) -> None:
    first = next(iter(payload["state_dict"]))
    payload["state_dict"][first].fill_(float("nan"))


def _huge_config(payload: dict) -> None:
    payload["config"]["channels"] = 1 << 20  # 128 × 2^20 × 3 floats: a 1.5 GB first layer


def _endless_context(payload: dict) -> None:
    payload["config"]["dilation_growth"] = 10**6  # 2 layers: two million frames of context


def _wrong_shapes(payload: dict) -> None:
    payload["state_dict"] = {k: v[..., :1] for k, v in payload["state_dict"].items()}


def _zero_std(payload: dict) -> None:
    payload["normalization"]["std"] = [0.0] * 128


# ----- dataset builders ----------------------------------------------------------------------

HEADER = "file,genre,category,sound,start,end\n"


def csv_text(body: str, header: str = HEADER) -> bytes:
    return (header + body).encode("utf-8")


def many_bad_rows(n: int) -> bytes:
    return csv_text("".join(f"track.wav,House,loop,L{i},{i + 1},{i}\n" for i in range(n)))


# ----- the corpus ----------------------------------------------------------------------------


def _const(data: bytes) -> Callable[[Path], bytes]:
    return lambda _marker_dir: data


def _lazy(make: Callable[[], bytes]) -> Callable[[Path], bytes]:
    return lambda _marker_dir: make()


def _audio(case: str, file_name: str, expect: str, fragment: str,
           make: Callable[[], bytes]) -> HostileInput:
    return HostileInput(case, file_name, "audio", expect, fragment, _lazy(make))


def audio_cases() -> list[HostileInput]:
    """Broken, extreme and hostile audio files."""
    cases: list[HostileInput] = []
    for i, ext in enumerate(AUDIO_EXTENSIONS):
        cases.append(_audio(f"zero-length .{ext}", f"empty.{ext}", "AudioError", "empty",
                            lambda: b""))
        cases.append(_audio(f"random bytes .{ext}", f"random.{ext}", "AudioError", "",
                            lambda seed=i: random_bytes(8192, seed)))
        cases.append(_audio(f"first 40 bytes of a .{ext}", f"head.{ext}", "AudioError", "",
                            lambda ext=ext: good_file(ext)[:40]))
        cases.append(_audio(f"truncated .{ext} (first half)", f"half.{ext}", "ok", "",
                            lambda ext=ext: truncated(good_file(ext, 4.0), 0.5)))
    cases += [
        _audio("wav header only", "header.wav", "AudioError", "",
               lambda: pcm16_wav(b"")),
        _audio("wav claiming 2^31 frames, 1 s present", "liar.wav", "ok", "",
               lambda: pcm16_wav(pcm16(noise(1.5, GOOD_RATE_HZ)[:, 0]),
                                 claimed_data_bytes=2**32 - 2)),
        _audio("wav claiming 2^31 frames, none present", "liar-empty.wav", "AudioError", "",
               lambda: pcm16_wav(b"", claimed_data_bytes=2**32 - 2)),
        _audio("wav with 0 channels in its header", "nochannels.wav", "AudioError", "",
               lambda: pcm16_wav(pcm16(noise(2.0, GOOD_RATE_HZ)[:, 0]), channels=0)),
        _audio("wav with a 0 Hz sample rate", "zerorate.wav", "AudioError", "",
               lambda: pcm16_wav(pcm16(noise(2.0, GOOD_RATE_HZ)[:, 0]), sr_hz=0)),
        _audio("one sample", "one.wav", "AudioError", "at least 1 s",
               lambda: encode(noise(1.0, GOOD_RATE_HZ)[:1], GOOD_RATE_HZ, "WAV")),
        _audio("0.5 s", "short.wav", "AudioError", "at least 1 s",
               lambda: good_wav(0.5)),
        _audio("8 channels", "surround.wav", "ok", "",
               lambda: encode(noise(2.0, 22050, channels=8), 22050, "WAV")),
        _audio("64 channels", "multitrack.wav", "AudioError", "64 channels",
               lambda: encode(noise(1.5, 8000, channels=64), 8000, "WAV")),
        _audio("4 kHz", "telephone.wav", "AudioError", "4000 Hz",
               lambda: encode(noise(2.0, 4000), 4000, "WAV")),
        _audio("384 kHz", "hires.wav", "AudioError", "384000 Hz",
               lambda: encode(noise(1.5, 384_000), 384_000, "WAV")),
        _audio("8 kHz (lowest accepted)", "low.wav", "ok", "",
               lambda: encode(noise(2.0, 8000), 8000, "WAV")),
        _audio("192 kHz (highest accepted)", "high.flac", "ok", "",
               lambda: encode(noise(1.5, 192_000), 192_000, "FLAC")),
        _audio("float wav with NaN", "nan.wav", "AudioError", "NaN",
               lambda: float_wav_with(float("nan"))),
        _audio("float wav with +Inf", "inf.wav", "AudioError", "NaN or infinity",
               lambda: float_wav_with(float("inf"))),
        _audio("float wav with 1e30 samples", "huge.wav", "AudioError", "full scale",
               lambda: float_wav_with(1e30)),
        _audio("float wav peaking at 4 (clipped master)", "hot.wav", "ok", "",
               lambda: float_wav_with(4.0)),
        _audio("all-zero audio", "silence.wav", "AudioError", "silent",
               lambda: constant_wav(0.0)),
        _audio("dither below -80 dBFS", "dither.wav", "AudioError", "silent",
               lambda: encode(noise(3.0, GOOD_RATE_HZ, level=1e-5), GOOD_RATE_HZ, "WAV",
                              "FLOAT")),
        _audio("constant DC offset", "dc.wav", "ok", "", lambda: constant_wav(0.5)),
        _audio("a single click in 3 s of silence", "click.wav", "ok", "",
               lambda: pcm16_wav(pcm16(np.eye(1, 3 * GOOD_RATE_HZ, 100)[0]))),
        _audio("20 minutes at 8 kHz", "twenty-minutes.wav", "ok", "", lambda: long_wav(20.0)),
        _audio("40 minutes at 8 kHz", "forty-minutes.wav", "AudioError", "40.0 minutes",
               lambda: long_wav(40.0)),
        _audio("text named .wav", "notes.wav", "AudioError", "could not be decoded",
               lambda: b"This is not audio, just text.\n" * 50),
        _audio("png named .flac", "cover.flac", "AudioError", "could not be decoded",
               lambda: PNG_1X1),
        _audio("zip named .ogg", "bundle.ogg", "AudioError", "could not be decoded",
               zip_bomb_like),
        _audio("aiff (decodable, not an upload type)", "track.aiff", "ok", "",
               lambda: encode(noise(2.0, 44100), 44100, "AIFF")),
    ]
    return cases


HOSTILE_NAMES = {
    "path traversal": "../../etc/passwd.wav",
    "windows path": "C:\\Windows\\System32\\evil.wav",
    "shell command": "a;rm -rf ~.wav",
    "shell substitution": f"$(touch {MARKER_NAME}).wav",
    "backticks": f"`touch {MARKER_NAME}`.mp3",
    "NUL byte": "track\x00.wav.exe.wav",
    "very long name": "x" * 5000 + ".wav",
    "unicode and emoji": "Trän 🎵 ﾃｽﾄ ☃.flac",
    "right-to-left override": "track\u202evaw.exe.wav",
    "newline and tab": "a\nb\tc.wav",
    "markdown and html": "<img src=x onerror=alert(1)>[x](javascript:alert(1)).wav",
    "only an extension": ".wav",
    "empty name": "",
}


def name_cases() -> list[HostileInput]:
    """A valid 3-second WAV under a hostile name: it loads; the name is only ever shown."""
    return [HostileInput(f"hostile name: {label}", name, "audio", "ok", "", _lazy(good_wav))
            for label, name in HOSTILE_NAMES.items()]


def dataset_cases() -> list[HostileInput]:
    """``annotations.csv`` contents (the folder also holds a valid ``track.wav``)."""

    def case(label: str, expect: str, fragment: str, data: bytes) -> HostileInput:
        return HostileInput(f"annotations: {label}", "annotations.csv", "dataset", expect,
                            fragment, _const(data))

    return [
        case("valid, with BOM and CRLF", "ok", "",
             b"\xef\xbb\xbf" + csv_text("track.wav,House,loop,L1,0,1\r\n").replace(
                 b"\n", b"\r\n")),
        case("empty file", "DatasetError", "header", b""),
        case("wrong header", "DatasetError", "expected file,genre", b"a,b,c\n1,2,3\n"),
        case("path traversal and absolute paths", "DatasetError", "inside the dataset folder",
             csv_text("../../etc/passwd,House,loop,L1,0,1\n/etc/passwd,House,loop,L2,0,1\n")),
        case("NaN, Inf, negative and reversed times", "DatasetError", "line 5",
             csv_text("track.wav,House,loop,L1,nan,1\ntrack.wav,House,loop,L2,0,inf\n"
                      "track.wav,House,loop,L3,-1,1\ntrack.wav,House,loop,L4,2,1\n")),
        case("extra columns and missing columns", "DatasetError", "line 3",
             csv_text("track.wav,House,loop,L1,0,1,extra\ntrack.wav,House\n")),
        case("not UTF-8", "DatasetError", "UTF-8",
             csv_text("track.wav,House,loop,L1,0,1\n") + b"\xff\xfe\xfa,House,loop,L2,0,1\n"),
        case("NUL byte in the file column", "DatasetError", "does not exist",
             csv_text("track.wav\x00.txt,House,loop,L1,0,1\n")),
        case("NUL byte in a text column (valid)", "ok", "",
             csv_text("track.wav,Ho\x00use,loop,L1,0,1\n")),
        case("a 1 MB field", "DatasetError", "",
             csv_text(f"track.wav,{'H' * (1 << 20)},loop,L1,0,1\n")),
        case("unclosed quote", "DatasetError", "",
             csv_text('track.wav,"House,loop,L1,0,1\ntrack.wav,House,loop,L2,0,1\n')),
        case("5000 bad rows", "DatasetError", "more", many_bad_rows(5000)),
        case("formula injection in text fields (valid)", "ok", "",
             csv_text('track.wav,"=HYPERLINK(""http://x"")",loop,"@SUM(A1)",0,1\n')),
    ]


def checkpoint_cases() -> list[HostileInput]:
    def case(label: str, expect: str, fragment: str,
             build: Callable[[Path], bytes]) -> HostileInput:
        runs_code = build in (raw_pickle_payload, torch_zip_payload)
        return HostileInput(f"checkpoint: {label}", "encoder.pt", "checkpoint", expect,
                            fragment, build, runs_code)

    return [
        case("valid untrained encoder", "ok", "", _lazy(loopfind_checkpoint)),
        case("zero-length", "CheckpointError", "could not be read", _const(b"")),
        case("random bytes", "CheckpointError", "could not be read",
             _lazy(lambda: random_bytes(4096, 11))),
        case("truncated", "CheckpointError", "could not be read",
             _lazy(lambda: truncated(loopfind_checkpoint(), 0.5))),
        case("foreign model (an MLP's state_dict)", "CheckpointError",
             "not a Loopfind encoder", _lazy(foreign_model_checkpoint)),
        case("NaN weights", "CheckpointError", "NaN", _lazy(
            lambda: loopfind_checkpoint(_nan_weights))),
        case("absurd architecture", "CheckpointError", "architecture", _lazy(
            lambda: loopfind_checkpoint(_huge_config))),
        case("endless receptive field", "CheckpointError", "input frames", _lazy(
            lambda: loopfind_checkpoint(_endless_context))),
        case("weights of another shape", "CheckpointError", "do not fit", _lazy(
            lambda: loopfind_checkpoint(_wrong_shapes))),
        case("zero std normalisation", "CheckpointError", "normalisation", _lazy(
            lambda: loopfind_checkpoint(_zero_std))),
        case("pickle running a shell command", "CheckpointError", "never unpickled",
             raw_pickle_payload),
        case("torch file whose pickle runs code", "CheckpointError", "never unpickled",
             torch_zip_payload),
    ]


def hostile_inputs() -> list[HostileInput]:
    """Every case, in a fixed order; case ids are unique."""
    cases = audio_cases() + name_cases() + dataset_cases() + checkpoint_cases()
    assert len({c.case for c in cases}) == len(cases)
    return cases


@cache
def _content(case: str, marker_dir: str) -> bytes:
    return next(c for c in hostile_inputs() if c.case == case).build(Path(marker_dir))


def content_of(item: HostileInput, marker_dir: Path) -> bytes:
    """The case's bytes, built once (a payload case once per marker folder)."""
    return _content(item.case, str(marker_dir) if item.runs_code else "")


def safe_file_name(item: HostileInput) -> str:
    """A name the case can be written under on disk: the hostile name when the file system
    takes it (a single component, no NUL, ≤ 255 bytes), else a neutral one with its
    extension."""
    name = item.file_name
    if name and "/" not in name and "\x00" not in name and name not in (".", "..") \
            and len(name.encode()) <= 255:
        return name
    return "renamed" + Path(name.replace("\x00", "").replace("\\", "/")).suffix[:10]


# ----- a report: what a user sees for each case ----------------------------------------------


def outcome_of(item: HostileInput, folder: Path) -> str:
    """Run one case through the core (audio as uploaded bytes) in ``folder``; return "loads"
    or "ErrorClass: message"."""
    import numpy as np

    from loopfind_core.base.audio import load_audio
    from loopfind_core.base.errors import LoopfindError
    from loopfind_core.corpus.dataset import read_dataset
    from loopfind_core.features.encoder import load_encoder

    data = content_of(item, folder)
    try:
        if item.target == "audio":
            load_audio(data)
        elif item.target == "dataset":
            sf.write(folder / "track.wav", np.zeros(22050, np.float32), 22050)
            (folder / "annotations.csv").write_bytes(data)
            read_dataset(folder)
        else:
            (folder / "encoder.pt").write_bytes(data)
            load_encoder(folder / "encoder.pt", "cpu")
    except LoopfindError as error:
        return f"{type(error).__name__}: {error}"
    return "loads"


def main() -> None:
    """Print the corpus as a Markdown table with what the user sees, and the counts."""
    import tempfile
    from collections import Counter

    counts: Counter[str] = Counter()
    print("| # | case | reads it | what the user sees |\n|---|---|---|---|")
    for number, item in enumerate(hostile_inputs(), 1):
        with tempfile.TemporaryDirectory() as folder:
            seen = outcome_of(item, Path(folder)).replace(folder, "…")
        counts[seen.split(":")[0]] += 1
        one_line = " ".join(seen.split())
        shown = (one_line if len(one_line) <= 110 else one_line[:107] + "…").replace("|", "/")
        print(f"| {number} | {ascii(item.case)} | {item.target} | {shown} |")
    totals = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"\n{sum(counts.values())} cases: {totals}")


if __name__ == "__main__":
    main()
