"""Audio in: decode a file, bytes or file object into mono float32 at 22050 Hz.

Decoding goes through libsndfile (``soundfile``): WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF and the
other formats it knows. Every way a file can be unusable ends in an :class:`AudioError` whose
message a person understands; nothing reads more than the limits below allow, whatever the
file's header claims.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from loopfind_core.base.errors import AudioError, DatasetError

SAMPLE_RATE_HZ = 22050  # the paper's analysis rate (§IV): every feature is computed at this rate
MIN_DURATION_S = 1.0  # shorter than one second holds no loop and hardly a sample
MAX_DURATION_S = 20 * 60.0  # 20 minutes: longer than any single track the tool is meant for
MAX_CHANNELS = 8  # 7.1 surround; more is a multitrack session, not a mix
MIN_SOURCE_RATE_HZ = 8000  # telephone quality; below, most of the music is gone
MAX_SOURCE_RATE_HZ = 192_000  # highest common studio rate
MAX_FILE_BYTES = 1 << 30  # 1 GiB: 20 minutes of 8-channel 96 kHz 16-bit audio is ~0.9 GiB
SILENCE_PEAK = 1e-4  # −80 dBFS: a peak below this is silence (or a dead file)
READ_BLOCK_FRAMES = 1 << 20  # decode in blocks so a lying header cannot trigger a huge allocation
SALVAGE_BLOCK_FRAMES = 1 << 14  # after a decoding error, re-read up to the damage in small blocks
MAX_SAMPLE_PEAK = 1000.0  # +60 dB over full scale: a float file beyond this holds garbage
SUPPORTED_FORMATS = "WAV, FLAC, OGG (Vorbis/Opus), MP3 or AIFF"
RESAMPLE_QUALITY = "HQ"  # soxr's high quality, as librosa.load uses by default


@dataclass(frozen=True, eq=False)
class Audio:
    """A decoded track, ready for feature extraction."""

    samples: np.ndarray = field(repr=False)  # float32, shape (n_samples,), mono at sr_hz
    sr_hz: int  # always SAMPLE_RATE_HZ
    original_sr_hz: int  # the rate stored in the file
    original_channels: int
    content_hash: str  # sha256 hex digest of the encoded bytes: identifies the file's content
    name: str = ""  # a display name (file name without folders); never used as a path

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sr_hz


def _describe(name: str) -> str:
    return f"{name!r}" if name else "The audio"


HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _Source:
    """What soundfile opens (a path, or bytes in memory), its hash and a display name."""

    opener: str | io.BytesIO
    content_hash: str
    name: str


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _from_path(path: Path) -> _Source:
    """A file on disk is hashed in chunks and decoded in place: never held whole in memory."""
    name = path.name
    if not path.is_file():
        raise AudioError(f"{_describe(name)} does not exist or is not a file.")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"{_describe(name)} is empty (0 bytes).")
    if size > MAX_FILE_BYTES:
        raise AudioError(
            f"{_describe(name)} is {size / 2**20:.0f} MiB; files up to "
            f"{MAX_FILE_BYTES / 2**20:.0f} MiB are accepted."
        )
    try:
        return _Source(str(path), _hash_file(path), name)
    except OSError as error:
        raise AudioError(f"{_describe(name)} could not be read ({error.strerror}).") from error


def _from_bytes(data: bytes, name: str) -> _Source:
    if not data:
        raise AudioError(f"{_describe(name)} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise AudioError(f"{_describe(name)} is larger than {MAX_FILE_BYTES / 2**20:.0f} MiB.")
    return _Source(io.BytesIO(data), hashlib.sha256(data).hexdigest(), name)


def _source(source: str | os.PathLike | bytes | bytearray | BinaryIO) -> _Source:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), "")
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source))
    if hasattr(source, "read"):
        name = Path(str(getattr(source, "name", ""))).name
        try:
            data = source.read(MAX_FILE_BYTES + 1)
        except (OSError, ValueError) as error:
            raise AudioError(f"{_describe(name)} could not be read ({error}).") from error
        if not isinstance(data, (bytes, bytearray)):
            raise AudioError("The file object must be opened in binary mode ('rb').")
        return _from_bytes(bytes(data), name)
    raise AudioError(
        f"Cannot read audio from a {type(source).__name__}; give a path, bytes or a binary "
        "file object."
    )


def _open_sound_file(source: _Source) -> sf.SoundFile:
    try:
        return sf.SoundFile(source.opener)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as error:
        raise AudioError(
            f"{_describe(source.name)} could not be decoded: it is not a {SUPPORTED_FORMATS} "
            "file, or it is damaged."
        ) from error


def _check_header(handle: sf.SoundFile, name: str) -> None:
    """Reject impossible formats before decoding a single sample."""
    if handle.channels > MAX_CHANNELS:
        raise AudioError(
            f"{_describe(name)} has {handle.channels} channels; at most {MAX_CHANNELS} are "
            "supported. Export a stereo or mono mix."
        )
    if not MIN_SOURCE_RATE_HZ <= handle.samplerate <= MAX_SOURCE_RATE_HZ:
        raise AudioError(
            f"{_describe(name)} has a sample rate of {handle.samplerate} Hz; rates from "
            f"{MIN_SOURCE_RATE_HZ} to {MAX_SOURCE_RATE_HZ} Hz are supported."
        )
    if handle.seekable() and handle.frames > 0:
        claimed_s = handle.frames / handle.samplerate
        if claimed_s > MAX_DURATION_S + 1.0:
            raise AudioError(_too_long_message(name, claimed_s))


def _too_long_message(name: str, duration_s: float) -> str:
    return (
        f"{_describe(name)} is {duration_s / 60:.1f} minutes long; tracks up to "
        f"{MAX_DURATION_S / 60:.0f} minutes are supported. Cut it into shorter parts."
    )


def _decode_mono_blocks(handle: sf.SoundFile, name: str) -> np.ndarray:
    """Decode to mono float32 (frames,) in blocks, stopping past the duration limit.

    Each block is mixed down as it arrives, so a multichannel file never sits in memory whole.
    A damaged or truncated tail ends decoding and what decoded cleanly before it is kept, as
    media players do: when a large block fails, its start is decoded again in small blocks
    (libsndfile drops a whole block at the first bad frame of a truncated FLAC).
    """
    max_frames = int((MAX_DURATION_S + 1.0) * handle.samplerate)
    blocks, total = [], 0
    block_frames = READ_BLOCK_FRAMES
    while True:
        try:
            block = handle.read(block_frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            if block_frames > SALVAGE_BLOCK_FRAMES and _seek_back(handle, total):
                block_frames = SALVAGE_BLOCK_FRAMES
                continue
            if not blocks:
                raise AudioError(
                    f"{_describe(name)} is damaged: no audio could be decoded from it."
                ) from error
            break
        if len(block) == 0:
            break
        blocks.append(_to_mono(block))
        total += len(block)
        if total > max_frames:
            raise AudioError(_too_long_message(name, total / handle.samplerate))
    if not blocks:
        raise AudioError(f"{_describe(name)} contains no audio samples.")
    return np.concatenate(blocks, axis=0)


def _seek_back(handle: sf.SoundFile, frame: int) -> bool:
    """Move the decoder back to ``frame``; False when the source cannot seek there."""
    if not handle.seekable():
        return False
    try:
        return handle.seek(frame) == frame
    except (sf.LibsndfileError, RuntimeError, ValueError):
        return False


def _to_mono(frames: np.ndarray) -> np.ndarray:
    """(frames, channels) → (frames,), the mean of the channels.

    Summed channel by channel: numpy's reduction along a short last axis is many times slower
    (docs/results.md §3.1).
    """
    mono = np.array(frames[:, 0], dtype=np.float32)  # a contiguous copy
    for channel in range(1, frames.shape[1]):
        mono += frames[:, channel]
    if frames.shape[1] > 1:
        mono *= np.float32(1.0 / frames.shape[1])
    return mono


def _check_samples(mono: np.ndarray, source_rate_hz: int, name: str) -> None:
    if not np.all(np.isfinite(mono)):
        raise AudioError(
            f"{_describe(name)} contains invalid sample values (NaN or infinity); the file is "
            "damaged."
        )
    duration_s = len(mono) / source_rate_hz
    if duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{_describe(name)} is {duration_s:.2f} s long; at least {MIN_DURATION_S:.0f} s of "
            "audio is needed."
        )
    if duration_s > MAX_DURATION_S:
        raise AudioError(_too_long_message(name, duration_s))
    peak = float(np.max(np.abs(mono)))
    if peak > MAX_SAMPLE_PEAK:
        raise AudioError(
            f"{_describe(name)} has sample values up to {peak:.3g}, far beyond full scale "
            "(±1); the file is damaged."
        )
    if peak < SILENCE_PEAK:
        raise AudioError(f"{_describe(name)} is silent: there is nothing to search in it.")


def resample(samples: np.ndarray, from_hz: int, to_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Resample mono float32 samples; returns them unchanged when the rates match."""
    if from_hz == to_hz:
        return np.ascontiguousarray(samples, dtype=np.float32)
    return soxr.resample(samples, from_hz, to_hz, quality=RESAMPLE_QUALITY).astype(np.float32)


def load_audio(source: str | os.PathLike | bytes | bytearray | BinaryIO) -> Audio:
    """Decode ``source`` (a path, bytes or a binary file object) into an :class:`Audio`.

    The result is mono (the mean of the channels), float32, resampled to 22050 Hz.

    Raises:
        AudioError: the source is missing, empty, undecodable, damaged, silent, shorter than
            1 s or longer than 20 minutes, has NaN/Inf samples or samples beyond ±1000, more
            than 8 channels, or a sample rate outside 8–192 kHz.
    """
    opened = _source(source)
    name = opened.name
    with _open_sound_file(opened) as handle:
        _check_header(handle, name)
        mono = _decode_mono_blocks(handle, name)
        source_rate_hz, channels = handle.samplerate, handle.channels
    _check_samples(mono, source_rate_hz, name)
    samples = resample(mono, source_rate_hz)
    if not math.isfinite(float(np.max(np.abs(samples)))):
        raise AudioError(f"{_describe(name)} could not be resampled to {SAMPLE_RATE_HZ} Hz.")
    return Audio(
        samples=samples,
        sr_hz=SAMPLE_RATE_HZ,
        original_sr_hz=source_rate_hz,
        original_channels=channels,
        content_hash=opened.content_hash,
        name=name,
    )


def audio_from_samples(samples: np.ndarray, sr_hz: int, name: str = "") -> Audio:
    """Wrap samples already in memory (e.g. from the synthesizer) as an :class:`Audio`.

    ``samples`` is mono, shape (n,), or (n, channels). The same checks as
    :func:`load_audio` apply.
    """
    frames = np.asarray(samples, dtype=np.float32)
    if frames.ndim == 1:
        frames = frames[:, None]
    if frames.ndim != 2 or frames.shape[1] > MAX_CHANNELS:
        raise AudioError(f"Expected mono or up to {MAX_CHANNELS} channels, got {frames.shape}.")
    if not MIN_SOURCE_RATE_HZ <= sr_hz <= MAX_SOURCE_RATE_HZ:
        raise AudioError(f"A sample rate of {sr_hz} Hz is not supported.")
    mono = _to_mono(frames)
    _check_samples(mono, sr_hz, name)
    return Audio(
        samples=resample(mono, sr_hz),
        sr_hz=SAMPLE_RATE_HZ,
        original_sr_hz=sr_hz,
        original_channels=frames.shape[1],
        content_hash=hashlib.sha256(mono.tobytes()).hexdigest(),
        name=name,
    )


MAX_CLIP_S = 60.0  # longest excerpt served for listening


def clip_wav_bytes(audio: Audio, start_s: float, end_s: float, pad_s: float = 0.0) -> bytes:
    """A 16-bit WAV of ``[start_s − pad_s, end_s + pad_s)`` (clipped to the track and to
    :data:`MAX_CLIP_S`) at the analysis rate, for listening in a browser."""
    start = max(0, int((start_s - pad_s) * audio.sr_hz))
    stop = min(len(audio.samples), int((end_s + pad_s) * audio.sr_hz))
    stop = min(stop, start + int(MAX_CLIP_S * audio.sr_hz))
    if stop <= start:
        raise AudioError("The excerpt to play is empty: it lies outside the track.")
    out = io.BytesIO()
    sf.write(out, audio.samples[start:stop], audio.sr_hz, format="WAV", subtype="PCM_16")
    return out.getvalue()

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")


def audio_files(folders: Sequence[str | Path]) -> list[Path]:
    """Every audio file under the folders, sorted (so runs are deterministic)."""
    files: list[Path] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise DatasetError(f"Training data folder {str(folder)!r} does not exist.")
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise DatasetError(
            f"No audio files ({', '.join(AUDIO_EXTENSIONS)}) in {', '.join(map(str, folders))}."
        )
    return files


OGG_BLOCK_FRAMES = 4096  # libvorbis alloca()s per write call: one huge write can crash it


def ogg_vorbis_bytes(audio: Audio) -> bytes:
    """``audio`` as an Ogg Vorbis file (mono, at its own rate ``audio.sr_hz``), for browsers and
    game packages: a fraction of a 16-bit WAV's size (docs/results.md §3.1). Vorbis adds no
    delay: sample ``n`` of the file is sample ``n`` of the track, so event times hold as they
    are. The bytes differ between runs (Ogg picks a random stream serial number)."""
    out = io.BytesIO()
    with sf.SoundFile(out, "w", samplerate=audio.sr_hz, channels=1, format="OGG",
                      subtype="VORBIS") as handle:
        for start in range(0, len(audio.samples), OGG_BLOCK_FRAMES):
            handle.write(audio.samples[start:start + OGG_BLOCK_FRAMES])
    return out.getvalue()
