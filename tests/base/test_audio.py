"""Audio in: every format decodes to the same mono 22050 Hz signal; bad input says why;
listening clips are WAV excerpts."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from loopfind_core.base.audio import SAMPLE_RATE_HZ, audio_from_samples, clip_wav_bytes, load_audio
from loopfind_core.base.errors import AudioError, LoopfindError
from testkit.audio import SR_HZ


def tone(duration_s: float, sr_hz: int, channels: int = 1, freq_hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(duration_s * sr_hz)) / sr_hz
    mono = 0.5 * np.sin(2 * np.pi * freq_hz * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def encode(data: np.ndarray, sr_hz: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, data, sr_hz, format=fmt, subtype=subtype)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "fmt,subtype", [("WAV", "PCM_16"), ("FLAC", None), ("OGG", "VORBIS"), ("MP3", None)]
)
def test_formats_decode_to_mono_22050(fmt, subtype):
    data = encode(tone(2.0, 44100, channels=2), 44100, fmt, subtype)
    audio = load_audio(data)
    assert audio.sr_hz == SAMPLE_RATE_HZ and audio.original_sr_hz == 44100
    assert audio.original_channels == 2 and audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert abs(audio.duration_s - 2.0) < 0.1  # mp3 adds encoder padding
    spectrum = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE_HZ / len(audio.samples)
    assert abs(peak_hz - 440.0) < 2.0


def test_path_bytes_and_file_object_agree(planted_wav):
    from_path = load_audio(planted_wav)
    from_bytes = load_audio(planted_wav.read_bytes())
    with open(planted_wav, "rb") as handle:
        from_file = load_audio(handle)
    assert from_path.content_hash == from_bytes.content_hash == from_file.content_hash
    np.testing.assert_array_equal(from_path.samples, from_file.samples)
    assert from_path.name == "planted.wav"


def test_content_hash_changes_with_content(planted):
    a = load_audio(encode(planted.samples, SR_HZ, "WAV"))
    b = load_audio(encode(planted.samples * 0.5, SR_HZ, "WAV"))
    assert a.content_hash != b.content_hash


def wav_header_claiming(frames: int, sr_hz: int = 44100) -> bytes:
    """A 16-bit mono WAV header whose data chunk claims ``frames`` frames, with 1 s of data."""
    data = (tone(1.0, sr_hz)[:, 0] * 32767).astype("<i2").tobytes()
    claimed = min(frames * 2, 2**32 - 100)
    return (
        b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sr_hz, sr_hz * 2, 2, 16)
        + b"data" + struct.pack("<I", claimed) + data
    )


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "random bytes": (np.random.default_rng(1).bytes(5000), "could not be decoded"),
    "text": (b"hello, this is not audio at all" * 20, "could not be decoded"),
    "truncated header": (encode(tone(2.0, 22050), 22050, "WAV")[:30], "could not be decoded"),
    "too short": (encode(tone(0.5, 22050), 22050, "WAV"), "at least 1 s"),
    "one sample": (encode(tone(1.0, 22050)[:1], 22050, "WAV"), "at least 1 s"),
    "silence": (encode(np.zeros((22050 * 3, 1), np.float32), 22050, "WAV"), "silent"),
    "nan": (
        encode(np.full((22050 * 2, 1), np.nan, np.float32), 22050, "WAV", "FLOAT"), "NaN"
    ),
    "inf": (
        encode(np.concatenate([tone(2.0, 22050), np.full((10, 1), np.inf, np.float32)]),
               22050, "WAV", "FLOAT"), "NaN or infinity",
    ),
    "too many channels": (encode(tone(1.5, 8000, channels=12), 8000, "WAV"), "12 channels"),
    "rate too low": (encode(tone(2.0, 4000), 4000, "WAV"), "4000 Hz"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_clear_error(name):
    data, fragment = BAD_INPUTS[name]
    with pytest.raises(AudioError) as caught:
        load_audio(data)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, LoopfindError)


def test_header_claiming_billions_of_frames_reads_only_what_is_there():
    audio = load_audio(wav_header_claiming(2**31 - 100))
    assert abs(audio.duration_s - 1.0) < 0.01


def test_truncated_data_keeps_what_decodes():
    data = encode(tone(3.0, 22050), 22050, "WAV")
    audio = load_audio(data[: len(data) // 2])  # header intact, second half of samples gone
    assert 1.0 <= audio.duration_s <= 1.6


def test_too_long_is_refused(tmp_path):
    path = tmp_path / "long.flac"
    sr = 8000
    with sf.SoundFile(path, "w", sr, 1, format="FLAC") as handle:
        block = tone(60.0, sr)
        for _ in range(21):
            handle.write(block)
    with pytest.raises(AudioError, match="21.0 minutes"):
        load_audio(path)


def test_eight_channels_are_mixed_down():
    audio = load_audio(encode(tone(1.5, 22050, channels=8), 22050, "WAV"))
    assert audio.original_channels == 8 and audio.samples.ndim == 1


def test_missing_path_and_wrong_type(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="give a path, bytes"):
        load_audio(12345)
    with pytest.raises(AudioError, match="binary mode"):
        load_audio(io.StringIO("text"))


def test_listening_clips_are_wav_excerpts(planted):
    audio = audio_from_samples(planted.samples, SR_HZ)
    samples, rate = sf.read(io.BytesIO(clip_wav_bytes(audio, 3.0, 4.0)))
    assert rate == SR_HZ and len(samples) == SR_HZ
    with pytest.raises(AudioError, match="outside the track"):
        clip_wav_bytes(audio, 100.0, 101.0)
