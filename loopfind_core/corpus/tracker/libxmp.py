"""A ctypes binding to libxmp (Debian's ``libxmp4``): load a tracker module, read its pattern
data, and render it frame by frame, the whole mix or with channels muted.

Only what the real-music corpus needs is bound. The struct layouts follow ``/usr/include/xmp.h``
of libxmp 4.5 field by field (``xmp_module``, ``xmp_pattern``, ``xmp_track``, ``xmp_event``,
``xmp_module_info``, ``xmp_frame_info`` with its 64 ``xmp_channel_info``); the module data is
copied into plain Python/numpy objects (:class:`ModuleData`) so nothing outlives the context.

Every render plays from the start at :data:`SAMPLE_RATE_HZ`, mono, 16-bit, and logs each frame
(its first sample, position, pattern, row, frame, speed, bpm), so a render is its own clock:
muting channels changes the audio, never the timing, and renders of one module are
sample-aligned.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loopfind_core.base.errors import ConfigurationError, DatasetError

SAMPLE_RATE_HZ = 22050
LIBRARY_NAME = "libxmp.so.4"
INSTALL_HINT = "sudo apt-get install libxmp4"

XMP_NAME_SIZE = 64
XMP_MAX_CHANNELS = 64
XMP_MAX_MOD_LENGTH = 256
XMP_FORMAT_MONO = 1 << 2
XMP_KEY_OFF = 0x81  # note numbers from here on are key off, cut and fade, not notes
EVENT_FIELDS = ("note", "ins", "vol", "fxt", "fxp", "f2t", "f2p", "flag")


class XmpEvent(ctypes.Structure):
    """``struct xmp_event``: one cell of a track (8 bytes)."""

    _fields_ = [(name, ctypes.c_ubyte) for name in EVENT_FIELDS]


class XmpChannel(ctypes.Structure):
    """``struct xmp_channel``."""

    _fields_ = [("pan", ctypes.c_int), ("vol", ctypes.c_int), ("flg", ctypes.c_int)]


class XmpModule(ctypes.Structure):
    """``struct xmp_module``; ``xxp``/``xxt`` point at variable-length structs read by hand."""

    _fields_ = [
        ("name", ctypes.c_char * XMP_NAME_SIZE),
        ("type", ctypes.c_char * XMP_NAME_SIZE),
        ("pat", ctypes.c_int), ("trk", ctypes.c_int), ("chn", ctypes.c_int),
        ("ins", ctypes.c_int), ("smp", ctypes.c_int), ("spd", ctypes.c_int),
        ("bpm", ctypes.c_int), ("len", ctypes.c_int), ("rst", ctypes.c_int),
        ("gvl", ctypes.c_int),
        ("xxp", ctypes.POINTER(ctypes.c_void_p)),  # struct xmp_pattern **
        ("xxt", ctypes.POINTER(ctypes.c_void_p)),  # struct xmp_track **
        ("xxi", ctypes.c_void_p),  # struct xmp_instrument *
        ("xxs", ctypes.c_void_p),  # struct xmp_sample *
        ("xxc", XmpChannel * XMP_MAX_CHANNELS),
        ("xxo", ctypes.c_ubyte * XMP_MAX_MOD_LENGTH),
    ]


class XmpModuleInfo(ctypes.Structure):
    """``struct xmp_module_info``."""

    _fields_ = [
        ("md5", ctypes.c_ubyte * 16),
        ("vol_base", ctypes.c_int),
        ("mod", ctypes.POINTER(XmpModule)),
        ("comment", ctypes.c_char_p),
        ("num_sequences", ctypes.c_int),
        ("seq_data", ctypes.c_void_p),
    ]


class XmpChannelInfo(ctypes.Structure):
    """``struct xmp_channel_info`` (24 bytes)."""

    _fields_ = [
        ("period", ctypes.c_uint), ("position", ctypes.c_uint), ("pitchbend", ctypes.c_short),
        ("note", ctypes.c_ubyte), ("instrument", ctypes.c_ubyte), ("sample", ctypes.c_ubyte),
        ("volume", ctypes.c_ubyte), ("pan", ctypes.c_ubyte), ("reserved", ctypes.c_ubyte),
        ("event", XmpEvent),
    ]


class XmpFrameInfo(ctypes.Structure):
    """``struct xmp_frame_info``."""

    _fields_ = [
        ("pos", ctypes.c_int), ("pattern", ctypes.c_int), ("row", ctypes.c_int),
        ("num_rows", ctypes.c_int), ("frame", ctypes.c_int), ("speed", ctypes.c_int),
        ("bpm", ctypes.c_int), ("time", ctypes.c_int), ("total_time", ctypes.c_int),
        ("frame_time", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("buffer_size", ctypes.c_int), ("total_size", ctypes.c_int), ("volume", ctypes.c_int),
        ("loop_count", ctypes.c_int), ("virt_channels", ctypes.c_int),
        ("virt_used", ctypes.c_int), ("sequence", ctypes.c_int),
        ("channel_info", XmpChannelInfo * XMP_MAX_CHANNELS),
    ]


@functools.cache
def load_library() -> ctypes.CDLL:
    """libxmp, loaded once, with the signatures declared.

    Raises:
        ConfigurationError: libxmp is not installed (names the apt-get line).
    """
    try:
        lib = ctypes.CDLL(LIBRARY_NAME)
    except OSError:
        found = ctypes.util.find_library("xmp")
        if found is None:
            raise ConfigurationError(
                f"The real-music corpus needs libxmp ({LIBRARY_NAME}), which is not installed: "
                f"run `{INSTALL_HINT}`."
            ) from None
        lib = ctypes.CDLL(found)
    ctx = ctypes.c_void_p
    signatures = {
        "xmp_create_context": (ctx, []),
        "xmp_free_context": (None, [ctx]),
        "xmp_load_module": (ctypes.c_int, [ctx, ctypes.c_char_p]),
        "xmp_release_module": (None, [ctx]),
        "xmp_start_player": (ctypes.c_int, [ctx, ctypes.c_int, ctypes.c_int]),
        "xmp_play_frame": (ctypes.c_int, [ctx]),
        "xmp_get_frame_info": (None, [ctx, ctypes.POINTER(XmpFrameInfo)]),
        "xmp_end_player": (None, [ctx]),
        "xmp_get_module_info": (None, [ctx, ctypes.POINTER(XmpModuleInfo)]),
        "xmp_channel_mute": (ctypes.c_int, [ctx, ctypes.c_int, ctypes.c_int]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def library_version() -> str:
    """libxmp's version string, e.g. ``4.5.0``."""
    return ctypes.c_char_p.in_dll(load_library(), "xmp_version").value.decode()


@dataclass(frozen=True)
class ModuleData:
    """A module's score as libxmp loaded it: the order list, the patterns (rows and one track
    index per channel) and the tracks (rows × 8 event bytes, :data:`EVENT_FIELDS`)."""

    name: str
    format: str
    channels: int
    orders: tuple[int, ...]
    pattern_rows: tuple[int, ...]
    pattern_tracks: tuple[tuple[int, ...], ...]  # per pattern, per channel: a track index
    tracks: tuple[np.ndarray, ...]  # per track: uint8 (rows, 8)
    initial_speed: int
    initial_bpm: int

    def event(self, pattern: int, row: int, channel: int) -> np.ndarray:
        """The 8 event bytes of one cell (zeros past a track's end)."""
        track = self.tracks[self.pattern_tracks[pattern][channel]]
        return track[row] if row < len(track) else np.zeros(8, np.uint8)


@dataclass(frozen=True)
class Render:
    """One play of a module: int16 mono audio and one log row per frame."""

    audio: np.ndarray  # int16
    frames: np.ndarray  # int64 (n, 7): first sample, pos, pattern, row, frame, speed, bpm
    ended_by: str  # "loop" (the song came back round), "end" or "limit"

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ


def _read_module(module: XmpModule) -> ModuleData:
    channels = module.chn
    patterns_rows, patterns_tracks = [], []
    for p in range(module.pat):
        address = module.xxp[p]
        rows = ctypes.c_int.from_address(address).value
        index = (ctypes.c_int * channels).from_address(address + ctypes.sizeof(ctypes.c_int))
        patterns_rows.append(rows)
        patterns_tracks.append(tuple(index))
    tracks = []
    for t in range(module.trk):
        address = module.xxt[t]
        rows = ctypes.c_int.from_address(address).value
        data = ctypes.string_at(address + ctypes.sizeof(ctypes.c_int), rows * 8)
        tracks.append(np.frombuffer(data, np.uint8).reshape(rows, 8).copy())
    return ModuleData(
        name=module.name.decode("latin-1").strip(),
        format=module.type.decode("latin-1").strip(),
        channels=channels,
        orders=tuple(module.xxo[: module.len]),
        pattern_rows=tuple(patterns_rows),
        pattern_tracks=tuple(patterns_tracks),
        tracks=tuple(tracks),
        initial_speed=module.spd,
        initial_bpm=module.bpm,
    )


class XmpPlayer:
    """One loaded module (a context manager): its :class:`ModuleData` and its renders.

    Raises:
        ConfigurationError: libxmp is missing.
        DatasetError: libxmp cannot load the file.
    """

    def __init__(self, path: str | Path) -> None:
        self._lib = load_library()
        self.path = Path(path)
        self._ctx = self._lib.xmp_create_context()
        status = self._lib.xmp_load_module(self._ctx, str(self.path).encode())
        if status != 0:
            self._lib.xmp_free_context(self._ctx)
            self._ctx = None
            raise DatasetError(f"libxmp could not load {self.path} (error {-status}).")
        info = XmpModuleInfo()
        self._lib.xmp_get_module_info(self._ctx, ctypes.byref(info))
        self.module = _read_module(info.mod.contents)

    def __enter__(self) -> XmpPlayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._ctx is not None:
            self._lib.xmp_release_module(self._ctx)
            self._lib.xmp_free_context(self._ctx)
            self._ctx = None

    def render(self, solo: int | None = None, max_seconds: float = 300.0) -> Render:
        """Play the module once from the start: stop when it loops back, ends, or reaches
        ``max_seconds`` (cut at that sample). ``solo``: mute every channel but this one."""
        lib, ctx = self._lib, self._ctx
        if lib.xmp_start_player(ctx, SAMPLE_RATE_HZ, XMP_FORMAT_MONO) != 0:
            raise DatasetError(f"libxmp could not start playing {self.path}.")
        try:
            for channel in range(self.module.channels):
                lib.xmp_channel_mute(ctx, channel, 0 if solo in (None, channel) else 1)
            limit = int(round(max_seconds * SAMPLE_RATE_HZ))
            info = XmpFrameInfo()
            chunks: list[bytes] = []
            log: list[tuple[int, ...]] = []
            done, ended_by = 0, "limit"
            while done < limit:
                if lib.xmp_play_frame(ctx) != 0:
                    ended_by = "end"
                    break
                lib.xmp_get_frame_info(ctx, ctypes.byref(info))
                if info.loop_count > 0:
                    ended_by = "loop"
                    break
                log.append((done, info.pos, info.pattern, info.row, info.frame, info.speed,
                            info.bpm))
                chunk = ctypes.string_at(info.buffer, info.buffer_size)
                chunks.append(chunk)
                done += len(chunk) // 2
        finally:
            lib.xmp_end_player(ctx)
        audio = np.frombuffer(b"".join(chunks), np.int16)[:limit].copy()
        frames = np.asarray(log, np.int64).reshape(-1, 7)
        return Render(audio, frames, ended_by)
