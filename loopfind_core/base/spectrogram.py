"""The spectrogram every feature kind starts from, with the paper's STFT constants (§IV).

22050 Hz audio, frames of 1024 samples every 512 (≈ 46 ms windows, ≈ 23 ms hop, 43.07 frames
per second), a Hamming window, 128 mel bins; log-mel in dB (ref 1.0, 80 dB range), from librosa.
The frame grid defined here (:data:`FRAME_RATE_HZ`) is shared by every feature kind, the beat
grid and the encoder's checkpoints.
"""

from __future__ import annotations

import librosa
import numpy as np

from loopfind_core.base.audio import SAMPLE_RATE_HZ, Audio
from loopfind_core.base.compile_cache import ensure_compiled

N_FFT = 1024  # samples per STFT frame: 46.4 ms at 22050 Hz
HOP_LENGTH = 512  # samples between frames: 23.2 ms
WINDOW = "hamming"
N_MELS = 128
N_MFCC = 20
FRAME_RATE_HZ = SAMPLE_RATE_HZ / HOP_LENGTH  # 43.066 frames per second
LOG_MEL_TOP_DB = 80.0  # librosa's default dynamic range for power_to_db


def mel_power(audio: Audio) -> np.ndarray:
    """The mel power spectrogram, float32, shape (N_MELS, n_frames)."""
    ensure_compiled()  # librosa's kernels, compiled once under a lock (compile_cache.py)
    stft = librosa.stft(audio.samples, n_fft=N_FFT, hop_length=HOP_LENGTH, window=WINDOW)
    power = np.abs(stft)  # (1 + N_FFT // 2, n_frames), float32
    del stft  # the complex STFT is the largest array here: free it before the next one
    np.square(power, out=power)
    mel_basis = librosa.filters.mel(sr=audio.sr_hz, n_fft=N_FFT, n_mels=N_MELS)
    return (mel_basis @ power).astype(np.float32, copy=False)


def log_mel(audio: Audio) -> np.ndarray:
    """Log-mel spectrogram in dB (ref 1.0, 80 dB range), float32, shape (N_MELS, n_frames)."""
    return librosa.power_to_db(mel_power(audio), ref=1.0, top_db=LOG_MEL_TOP_DB)
