"""This browser session's workspace and the caches every session shares.

- ``st.session_state`` holds one :class:`~loopfind_core.interactive.workspace.Workspace` per
  browser session: two browsers never see each other's selection or hunts.
- Per-track features and derived arrays are in ``st.cache_data``, keyed by the audio's content
  hash; the encoder and the device-side window searches are in ``st.cache_resource``. Every
  cache has an entry bound and a time to live, so memory stays flat as uploads come and go:
  each per-track cache holds at most a few entries per track for :data:`TRACKS_CACHED` tracks
  (measured over 100 uploads in docs/reliability.md §2).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from loopfind_app.text import display_name
from loopfind_core.base.audio import Audio, audio_from_samples, clip_wav_bytes, load_audio
from loopfind_core.base.beats import BeatGrid, estimate_beats
from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.memory import release_freed_memory
from loopfind_core.base.spectrogram import FRAME_RATE_HZ, log_mel
from loopfind_core.corpus.dataset import SoundTruth, read_dataset
from loopfind_core.corpus.demo import ensure_demo_track
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack
from loopfind_core.interactive.figures import Envelope, mel_image, waveform_envelope
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.retrieval.search import WindowSearch

if TYPE_CHECKING:
    from loopfind_core.retrieval.discovery import Suggestion

TRACKS_CACHED = 8  # distinct tracks whose features stay cached
CACHE_TTL_S = 3600
SEARCHES_PER_TRACK = 2  # window searches kept per cached track (a hunt's kind and length)
SHORT_CLIP_S = 20.0  # clips up to this long (queries, candidates, loops) share one cache
SHORT_CLIPS_CACHED = 64  # ≤ 64 × 20 s × 44.1 kB/s ≈ 56 MB of 16-bit WAV
LIBRARY_TRACKS_CACHED = 2  # decoded library tracks: candidates jump from track to track
KIND_LABELS = {"learned": "Learned (BYOL + AE)", "mel": "Log-mel", "mfcc": "MFCC (paper)"}
UPLOAD_TYPES = ["wav", "mp3", "ogg", "flac"]


# ----- shared caches -------------------------------------------------------------------------


@st.cache_resource(show_spinner="Composing the demo track (first start only)…")
def demo_track() -> tuple[Audio, tuple[SoundTruth, ...]]:
    """The built-in demo track and its ground truth (composed on the first start)."""
    folder = ensure_demo_track()
    dataset = read_dataset(folder)
    path = dataset.path_of(dataset.files[0])
    audio = dataclasses.replace(load_audio(path), name=path.name)
    return audio, dataset.sounds()


@st.cache_resource(show_spinner=False)
def learned_problem() -> str | None:
    """Why the learned kind is unavailable (a broken or missing checkpoint), or None."""
    from loopfind_core.features.encoder import load_encoder

    try:
        load_encoder()
    except LoopfindError as error:
        return str(error)
    return None


def feature_kinds() -> list[str]:
    """The kinds the Hunt page offers, the default first."""
    return (["learned"] if learned_problem() is None else []) + ["mel", "mfcc"]


@st.cache_data(max_entries=3 * TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner="Computing features…")
def _features(content_hash: str, kind: str, whiten: float | None, _audio: Audio) -> FeatureTrack:
    return extract_features(_audio, kind, whiten=whiten)


@st.cache_resource(max_entries=SEARCHES_PER_TRACK * TRACKS_CACHED, ttl=CACHE_TTL_S,
                   show_spinner=False)
def _search(content_hash: str, kind: str, whiten: float | None, window_frames: int,
            _values: np.ndarray) -> WindowSearch:
    return WindowSearch(_values, window_frames)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner="Finding the beat…")
def _beats(content_hash: str, _audio: Audio) -> BeatGrid:
    return estimate_beats(_audio)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def envelope(content_hash: str, _audio: Audio) -> Envelope:
    """The track's waveform envelope for the plots."""
    return waveform_envelope(_audio.samples, _audio.sr_hz)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner="Drawing the spectrogram…")
def spectrogram(content_hash: str, _audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """(frame times in seconds, log-mel image) of the whole track for the plots."""
    return mel_image(log_mel(_audio), FRAME_RATE_HZ)


def clip(content_hash: str, start_s: float, end_s: float, _audio: Audio) -> bytes:
    """A WAV of ``[start_s, end_s)`` seconds for ``st.audio``. Short clips (≤ SHORT_CLIP_S)
    share a cache of SHORT_CLIPS_CACHED entries; longer ones (the Track page's first minute,
    ~2.6 MB each) one entry per cached track, so they cannot crowd out memory."""
    if end_s - start_s <= SHORT_CLIP_S:
        return _short_clip(content_hash, start_s, end_s, _audio)
    return _long_clip(content_hash, start_s, end_s, _audio)


@st.cache_data(max_entries=SHORT_CLIPS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def _short_clip(content_hash: str, start_s: float, end_s: float, _audio: Audio) -> bytes:
    return clip_wav_bytes(_audio, start_s, end_s)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def _long_clip(content_hash: str, start_s: float, end_s: float, _audio: Audio) -> bytes:
    return clip_wav_bytes(_audio, start_s, end_s)


def mel_excerpt(audio: Audio, start_s: float, end_s: float) -> np.ndarray:
    """Log-mel (n_mels, frames) dB of ``[start_s, end_s)``, from the cached ``mel`` features."""
    mel = _features(audio.content_hash, "mel", None, audio)
    first, last = mel.seconds_to_frames(start_s), mel.seconds_to_frames(end_s)
    return mel.values[first : max(first + 1, last)].T


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S,
               show_spinner="Looking for repeated sounds (a few seconds)…")
def suggestions(content_hash: str, kind: str, _workspace: Workspace) -> list[Suggestion]:
    """Discovery on the raw features of ``kind`` (as measured in docs/results.md §6.3)."""
    from loopfind_core.retrieval.discovery import discover

    raw = _features(content_hash, kind, None, _workspace.audio)
    return discover(raw, _workspace.beats)


@st.cache_resource(max_entries=LIBRARY_TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def library_track_audio(path: str) -> Audio:
    """One library track's audio, decoded when one of its windows is first played or drawn."""
    return load_audio(path)


@st.cache_data(max_entries=SHORT_CLIPS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def library_clip(path: str, start_s: float, end_s: float) -> bytes:
    """A WAV of ``[start_s, end_s)`` seconds of the library track at ``path``."""
    return clip_wav_bytes(library_track_audio(path), start_s, end_s)


@st.cache_data(max_entries=SHORT_CLIPS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def library_mel(path: str, start_s: float, end_s: float) -> np.ndarray:
    """Log-mel (n_mels, frames) dB of ``[start_s, end_s)`` seconds of the library track at
    ``path``, computed from that window alone (its whole-track features are not cached)."""
    audio = library_track_audio(path)
    first, last = int(start_s * audio.sr_hz), int(end_s * audio.sr_hz)
    return log_mel(audio_from_samples(audio.samples[first:last], audio.sr_hz))


# ----- the workspace of this browser session -------------------------------------------------


def new_workspace(audio: Audio, truth: tuple[SoundTruth, ...] = ()) -> Workspace:
    """A workspace whose features, searches and beats come from the shared caches."""
    key = audio.content_hash
    return Workspace(
        audio, truth,
        features=lambda kind, whiten: _features(key, kind, whiten, audio),
        searches=lambda track, whiten, frames: _search(key, track.kind, whiten, frames,
                                                       track.values),
        beats_provider=lambda: _beats(key, audio),
    )


def workspace() -> Workspace:
    """This session's workspace; the demo track (with its ground truth) on first visit."""
    if "workspace" not in st.session_state:
        audio, truth = demo_track()
        st.session_state.workspace = new_workspace(audio, truth)
        st.session_state.track_source = "demo"
    return st.session_state.workspace


def use_upload(name: str, data: bytes) -> Workspace:
    """Decode an upload and make it this session's track (the old hunts go with the old track).

    Raises:
        LoopfindError: the file is not audio this tool can read; the current track stays.
    """
    audio = dataclasses.replace(load_audio(data), name=display_name(name))
    st.session_state.workspace = new_workspace(audio)
    st.session_state.track_source = "upload"
    release_freed_memory()
    return st.session_state.workspace


def use_demo() -> Workspace:
    """Go back to the demo track (a fresh workspace: the upload's hunts are dropped)."""
    st.session_state.pop("workspace", None)
    return workspace()
