"""Tiny ProTracker modules written byte by byte, for the real-music corpus's tests: 4 channels,
two synthetic samples (a decaying sine "kick" and decaying noise "hat"), speed 6 at 125 bpm (a
row is :data:`ROW` samples at 22050 Hz, a pattern of 64 rows 7.68 s). Rendered and labelled by
``loopfind_core.corpus.tracker`` exactly as the corpus's songs are."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

ROW = 2646  # samples per row at speed 6, 125 bpm, 22050 Hz
C2, C3 = 428, 214  # ProTracker periods
KICK, HAT = 1, 2


def sample_data() -> tuple[bytes, bytes]:
    """The kick's and the hat's 8-bit sample data."""
    t = np.arange(2000) / 8287.0
    kick = np.sin(2 * np.pi * 110 * t) * np.exp(-t * 12)
    noise = np.random.default_rng(0).uniform(-1, 1, 1600)
    hat = noise * np.exp(-np.arange(1600) / 1600 * 6)
    return tuple((np.clip(x, -1, 1) * 120).astype(np.int8).tobytes() for x in (kick, hat))


def cell(sample: int = 0, period: int = 0, effect: int = 0, param: int = 0) -> bytes:
    """One ProTracker note cell."""
    return bytes([(sample & 0xF0) | (period >> 8), period & 0xFF,
                  ((sample & 0x0F) << 4) | effect, param])


def pattern(cells: dict[tuple[int, int], bytes]) -> bytes:
    """A 64-row, 4-channel pattern from its (row, channel) → cell entries."""
    return b"".join(cells.get((row, ch), cell()) for row in range(64) for ch in range(4))


def write_module(path: Path, patterns: list[bytes], orders: list[int]) -> None:
    """A 4-channel M.K. ProTracker file with the kick and hat samples."""
    kick, hat = sample_data()
    headers = b""
    for data in (kick, hat):
        headers += b"\0" * 22 + struct.pack(">HBBHH", len(data) // 2, 0, 64, 0, 1)
    headers += (b"\0" * 22 + struct.pack(">HBBHH", 0, 0, 0, 0, 1)) * 29
    order_bytes = bytes(orders) + b"\0" * (128 - len(orders))
    Path(path).write_bytes(b"test".ljust(20, b"\0") + headers + bytes([len(orders), 127])
                           + order_bytes + b"M.K." + b"".join(patterns) + kick + hat)


def write_busy_module(path: Path) -> None:
    """A 38-s song of five patterns, orders [0, 1, 0, 1, 0]: the kick on every beat of
    channel 0 (20 times a pattern: rows 0, 4, …, 60 hold 16, so 80 in all), the hat on the
    off-beats of channel 1 (rows 2, 6, …, 62), and in pattern 1 a high hat (C-3) on channel 2
    every bar, so the backing of the kick changes."""
    kicks = {(row, 0): cell(KICK, C2) for row in range(0, 64, 4)}
    hats = {(row, 1): cell(HAT, C2) for row in range(2, 64, 4)}
    highs = {(row, 2): cell(HAT, C3) for row in (8, 24, 40, 56)}
    write_module(path, [pattern({**kicks, **hats}), pattern({**kicks, **hats, **highs})],
                 [0, 1, 0, 1, 0])
