"""DSP primitives: oscillators, filters, envelopes, mixing, reverb, pitch shift, time stretch.

Signals are float64 arrays of samples at ``sr_hz`` (Hz); times and durations are in seconds,
pitch in MIDI note numbers or cents, cutoffs in Hz. Nothing here knows about music: the
instruments and renderers build on these.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, oaconvolve, sosfilt

A4_MIDI = 69
A4_HZ = 440.0
DB60 = math.log(1000.0)  # exp(-DB60 * t / T) has fallen by 60 dB at t = T
EDGE_FADE_S = 0.005  # fade at the ends of every rendered sound, against clicks


def _midi_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Frequency (Hz) of a MIDI note number (equal temperament, A4 = 440 Hz)."""
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - A4_MIDI) / 12.0)


def _phase(freq_hz: float | np.ndarray, n: int, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Oscillator phase in cycles [0, 1) and its per-sample increment, both shape (n,)."""
    freq = np.clip(np.broadcast_to(np.asarray(freq_hz, dtype=np.float64), (n,)), 1.0,
                   0.45 * sr_hz)
    inc = freq / sr_hz
    return (np.cumsum(inc) - inc[0]) % 1.0, inc


def _saw(phase: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth (PolyBLEP correction around each wrap), range about [-1, 1]."""
    y = 2.0 * phase - 1.0
    lo = phase < inc
    t = phase[lo] / inc[lo]
    y[lo] -= t + t - t * t - 1.0
    hi = phase > 1.0 - inc
    t = (phase[hi] - 1.0) / inc[hi]
    y[hi] -= t * t + t + t + 1.0
    return y


def _square(phase: np.ndarray, inc: np.ndarray) -> np.ndarray:
    """Band-limited square: the difference of two saws half a cycle apart."""
    return 0.5 * (_saw(phase, inc) - _saw((phase + 0.5) % 1.0, inc))


def _sos(btype: str, cutoff_hz: float | tuple[float, float], sr_hz: int,
         order: int = 2) -> np.ndarray:
    """Butterworth second-order sections; cutoffs are clipped inside (10 Hz, 0.95 Nyquist)."""
    top = 0.475 * sr_hz
    if btype == "bandpass":
        lo, hi = cutoff_hz  # type: ignore[misc]
        lo = min(max(lo, 10.0), top * 0.9)
        hi = min(max(hi, lo * 1.05), top)
        return butter(order, (lo, hi), btype="bandpass", fs=sr_hz, output="sos")
    return butter(order, min(max(float(cutoff_hz), 10.0), top), btype=btype, fs=sr_hz,
                  output="sos")


def _lowpass(x: np.ndarray, cutoff_hz: float, sr_hz: int, order: int = 2) -> np.ndarray:
    if cutoff_hz >= 0.47 * sr_hz:
        return x
    return sosfilt(_sos("lowpass", cutoff_hz, sr_hz, order), x)


def _highpass(x: np.ndarray, cutoff_hz: float, sr_hz: int, order: int = 2) -> np.ndarray:
    return sosfilt(_sos("highpass", cutoff_hz, sr_hz, order), x)


def _bandpass(x: np.ndarray, lo_hz: float, hi_hz: float, sr_hz: int,
              order: int = 1) -> np.ndarray:
    return sosfilt(_sos("bandpass", (lo_hz, hi_hz), sr_hz, order), x)


def _swept_filter(x: np.ndarray, cutoff_hz: np.ndarray, sr_hz: int, btype: str = "lowpass",
                  n_bands: int = 8, bandwidth_octaves: float = 1.0) -> np.ndarray:
    """A time-varying filter: crossfade, sample by sample, a bank of fixed filters.

    ``cutoff_hz`` has the shape of ``x``; for ``bandpass`` it is the centre frequency and the
    band spans ``bandwidth_octaves``. Each output sample interpolates linearly between the two
    bank filters whose cutoffs bracket its own (in log frequency). Cheap and click-free; the
    crossfade is what a listener (and an MFCC) hears as a moving filter.
    """
    lo, hi = float(cutoff_hz.min()), float(cutoff_hz.max())
    centres = np.geomspace(lo, max(hi, lo * 1.01), n_bands)
    half = 2.0 ** (bandwidth_octaves / 2.0)
    position = np.interp(np.log(cutoff_hz), np.log(centres), np.arange(n_bands))
    y = np.zeros(len(x))
    for band, centre in enumerate(centres):
        weight = np.maximum(0.0, 1.0 - np.abs(position - band))  # linear-interpolation hat
        if not weight.any():
            continue
        if btype == "bandpass":
            filtered = _bandpass(x, centre / half, centre * half, sr_hz)
        else:
            filtered = sosfilt(_sos(btype, centre, sr_hz), x)
        y += weight * filtered
    return y


def _decay(n: int, sr_hz: int, decay_s: float, attack_s: float = 0.002) -> np.ndarray:
    """Percussive envelope, shape (n,): linear attack, then -60 dB after ``decay_s``."""
    t = np.arange(n) / sr_hz
    env = np.exp(-DB60 * t / max(decay_s, 1e-3))
    if attack_s > 0:
        env *= np.minimum(t / attack_s, 1.0)
    return env


def _fade_edges(x: np.ndarray, sr_hz: int, fade_s: float = EDGE_FADE_S) -> np.ndarray:
    """``x`` with short linear fades at both ends (no clicks where it starts or is cut)."""
    n = min(len(x) // 2, max(1, int(fade_s * sr_hz)))
    ramp = np.linspace(0.0, 1.0, n, endpoint=False)
    y = x.copy()
    y[:n] *= ramp
    y[len(y) - n:] *= ramp[::-1]
    return y


def _normalise(x: np.ndarray) -> np.ndarray:
    """Peak-normalise to 1 (silence stays silence)."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return x / peak if peak > 0 else x


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(np.dot(x, x)) / len(x)) if len(x) else 0.0


def _add_at(out: np.ndarray, sound: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Mix ``sound * gain`` into ``out`` from sample ``start``, cutting what falls outside."""
    if start >= len(out) or start + len(sound) <= 0:
        return
    a, b = max(start, 0), min(start + len(sound), len(out))
    out[a:b] += gain * sound[a - start:b - start]


def _room(rng: np.random.Generator, sr_hz: int, decay_s: float) -> np.ndarray:
    """A small diffuse-room impulse response: decaying, darkening noise, unit energy."""
    n = int(decay_s * sr_hz)
    ir = rng.standard_normal(n) * _decay(n, sr_hz, decay_s, attack_s=0.004)
    ir = _lowpass(ir, 5000.0, sr_hz)
    return ir / (np.sqrt(np.sum(ir * ir)) + 1e-12)


def _with_reverb(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """``x`` plus its reverb; the result is longer by ``len(ir) - 1`` samples."""
    y = np.zeros(len(x) + len(ir) - 1)
    y[:len(x)] = x
    if wet > 0:
        y += wet * oaconvolve(x, ir)
    return y


def _shift_pitch(x: np.ndarray, cents: float) -> np.ndarray:
    """Resample by linear interpolation: pitch and speed change together; length is kept.

    A few tens of cents change the duration by about 1 %: the end is padded with silence
    or cut, so the sound's designed span stays where it was.
    """
    if cents == 0:
        return x
    ratio = 2.0 ** (cents / 1200.0)
    positions = np.arange(len(x)) * ratio
    return np.interp(positions, np.arange(len(x)), x, right=0.0)


def stretch_time(x: np.ndarray, percent: float) -> np.ndarray:
    """Play ``x`` ``percent`` % faster (negative: slower) at the same pitch; length is kept.

    A phase vocoder (librosa's) changes the speed only; as in :func:`_shift_pitch`, the end is
    padded with silence or cut, so the sound still starts where it was planted.
    """
    if percent == 0:
        return x
    import librosa  # only stress corpora stretch time: keep the default generator light

    stretched = librosa.effects.time_stretch(np.asarray(x, dtype=np.float32),
                                             rate=1.0 + percent / 100.0)
    out = np.zeros(len(x), dtype=np.float64)
    n = min(len(x), len(stretched))
    out[:n] = stretched[:n]
    return out
