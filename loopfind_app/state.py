"""This browser session's workspace and the caches every session shares.

- ``st.session_state`` holds one :class:`~loopfind_core.interactive.workspace.Workspace` per
  browser session: two browsers never see each other's selection or hunts.
- That workspace is also kept on disk under this browser's token (the URL's ``?w=``, and
  localStorage), so a reload or a server restart restores it and a new tab offers to resume it:
  :func:`save_workspace` after every change (docs/reliability.md §5).
- Per-track features, window searches, the spectrogram and clips are in byte-bounded caches
  keyed by the audio's content hash (:mod:`loopfind_app.track_cache`): a hit is the one shared,
  read-only object, never a copy; an entry of a track no live session holds goes
  :data:`UNHELD_IDLE_S` after its last use (a janitor thread sweeps every
  :data:`JANITOR_PERIOD_S` and returns the memory to the OS). Small per-track results (beats,
  envelope, suggestions) stay in ``st.cache_data`` with entry bounds; every cache has a time to
  live (measured in docs/reliability.md, "Bounded memory and disk").
- The demo track is composed once per machine, in a background thread started by the first
  visit (:func:`demo_track` raises :class:`DemoPending` meanwhile), so the first page opens
  at once and offers an upload instead of a spinner.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from loopfind_app import analysis_jobs, keeping
from loopfind_app.analysis import analyse, recycle_workers
from loopfind_app.text import display_name, plain
from loopfind_app.track_cache import Janitor, MiB, TrackCache, TrackHolders
from loopfind_core.base.audio import Audio, audio_from_samples, clip_wav_bytes, load_audio
from loopfind_core.base.beats import BeatGrid, estimate_beats
from loopfind_core.base.disk import remove_leftovers
from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.memory import release_freed_memory
from loopfind_core.base.paths import cache_dir
from loopfind_core.base.spectrogram import log_mel
from loopfind_core.corpus.dataset import SoundTruth, read_dataset
from loopfind_core.corpus.demo import demo_track_ready, ensure_demo_track
from loopfind_core.features.registry import extract_features
from loopfind_core.features.track import FeatureTrack
from loopfind_core.interactive.figures import (
    Envelope,
    picture_range,
    waveform_envelope,
)
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.interactive.workspace_store import (
    StaleWorkspaceError,
    TrackRef,
    WorkspaceStore,
    WorkspaceStoreError,
    valid_token,
)
from loopfind_core.retrieval.defaults import APP_HUNT
from loopfind_core.retrieval.search import WindowSearch

if TYPE_CHECKING:
    from loopfind_core.retrieval.discovery import Suggestion

TRACKS_CACHED = 8  # distinct tracks whose small results (beats, envelope…) stay cached
CACHE_TTL_S = 3600
FEATURES_BYTES = 384 * MiB  # features of every kind, of every track
SEARCHES_BYTES = 384 * MiB  # window searches: ~2× their features (frames and their FFT)
PICTURES_BYTES = 128 * MiB  # whole-track spectrogram images
CLIPS_BYTES = 96 * MiB  # WAV clips: queries, candidates, loops, the Track page's first minute
UNHELD_IDLE_S = 10.0  # an entry of a track no live session holds goes this long after its use
JANITOR_PERIOD_S = 10.0  # how often the janitor sweeps the caches
SHORT_CLIP_S = 20.0  # clips up to this long (queries, candidates, loops)
SHORT_CLIPS_CACHED = 64  # library clips (st.cache_data), each at most 20 s
CONTEXT_S = 1.0  # a candidate's clip starts this long before its window: the music around it
CONTEXT_GAIN_DB = -6.0  # the lead-in plays this much softer, so the window's start is heard
CONTEXT_RAMP_S = 0.03  # ... rising to full level over this long, ending at the window's start
LIBRARY_TRACKS_CACHED = 2  # decoded library tracks: candidates jump from track to track
KIND_LABELS = {"learned": "Learned (real music)", "mel": "Log-mel",
               "mfcc": "MFCC (paper)"}
UPLOAD_TYPES = ["wav", "mp3", "ogg", "flac"]


# ----- shared caches -------------------------------------------------------------------------


class DemoPending(Exception):  # noqa: N818 — a state, not an error
    """The demo track is still being composed (the first start on a fresh machine). Pages
    that need it say so (``app.py``); the Track page offers an upload meanwhile."""


@dataclasses.dataclass
class DemoJob:
    """The background composition of the demo track (one per server)."""

    thread: threading.Thread
    started: float  # time.monotonic() when it began
    error: str | None = None

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


def _compose_demo(job: DemoJob) -> None:
    try:
        ensure_demo_track()
    except Exception as error:  # noqa: BLE001 — reported to the page that waits for it
        job.error = str(error) or type(error).__name__


@st.cache_resource(show_spinner=False)
def _demo_job() -> DemoJob:
    thread = threading.Thread(target=lambda: _compose_demo(job), name="loopfind-demo",
                              daemon=True)
    job = DemoJob(thread, time.monotonic())
    thread.start()
    return job


def demo_job() -> DemoJob | None:
    """The demo's background composition, started on first call; None once the demo is on
    disk.

    Raises:
        LoopfindError: the composition failed (the next call tries again).
    """
    if demo_track_ready():
        return None
    job = _demo_job()
    if job.error is not None:
        _demo_job.clear()  # the next visit tries again
        raise LoopfindError(f"The demo track could not be prepared: {job.error}")
    if not job.thread.is_alive():
        if demo_track_ready():
            return None
        _demo_job.clear()  # the cache folder went away since: compose it again
        job = _demo_job()
    return job


def wait_for_demo(timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for the demo to be on disk; True when it is."""
    job = demo_job()
    if job is None:
        return True
    job.thread.join(timeout_s)
    return demo_job() is None


def demo_track() -> tuple[Audio, tuple[SoundTruth, ...]]:
    """The built-in demo track and its ground truth.

    Raises:
        DemoPending: it is being composed in the background (the first start of a machine).
        LoopfindError: composing it failed.
    """
    job = demo_job()
    if job is not None:
        raise DemoPending(f"The demo track is being prepared ({job.elapsed_s:.0f} s so far).")
    return _loaded_demo()


@st.cache_resource(show_spinner="Loading the demo track…")
def _loaded_demo() -> tuple[Audio, tuple[SoundTruth, ...]]:
    """The demo, decoded here rather than in a worker: Loopfind wrote that FLAC itself, and a
    worker waits for librosa's compile on a fresh machine, which the demo's decode needs not."""
    folder = ensure_demo_track()  # on disk already: only finds it
    dataset = read_dataset(folder)
    path = dataset.path_of(dataset.files[0])
    audio = dataclasses.replace(load_audio(path), name=path.name)
    return audio, dataset.sounds()


@st.cache_resource(show_spinner=False)
def learned_problem() -> str | None:
    """Why the learned kind is unavailable (a broken or missing checkpoint), or None (asked
    of a worker process: the server never loads the encoder)."""
    return analyse("", analysis_jobs.learned_problem)


def feature_kinds() -> list[str]:
    """The kinds the Hunt page offers, the default first."""
    offered = (["learned"] if learned_problem() is None else []) + ["mel", "mfcc"]
    return sorted(offered, key=lambda kind: kind != APP_HUNT.kind)  # stable: the default first


FEATURES = TrackCache("features", FEATURES_BYTES, CACHE_TTL_S)
SEARCHES = TrackCache("searches", SEARCHES_BYTES, CACHE_TTL_S)
PICTURES = TrackCache("pictures", PICTURES_BYTES, CACHE_TTL_S)
CLIPS = TrackCache("clips", CLIPS_BYTES, CACHE_TTL_S)
HOLDERS = TrackHolders()  # the tracks live sessions' workspaces use


def _session_count() -> int | None:
    """How many sessions the server has (connected or within their reconnect time), or None
    outside a server (AppTest, a script). Streamlit offers no public count.

    Sessions past their reconnect time are reaped first: Streamlit's store of disconnected
    sessions stops counting them then, but keeps them (and their workspaces, so their tracks'
    cache entries) until its next write, which may never come once every tab has closed."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        manager = Runtime.instance()._session_mgr
        disconnected = getattr(getattr(manager, "_session_storage", None), "_cache", None)
        if disconnected is not None:
            len(disconnected)  # a length query reaps its expired entries (streamlit ttl_cache)
        return manager.num_sessions()
    except Exception:  # noqa: BLE001 — an internal that may change: then the janitor only sweeps
        return None


def _release_memory() -> None:
    """The janitor's release: collect garbage and return freed heap pages to the OS; once no
    session is left, also stop the analysis workers, whose heaps keep what the sessions'
    analyses used (the next analysis starts fresh ones: :func:`analysis.recycle_workers`)."""
    if _session_count() == 0:
        recycle_workers()
    release_freed_memory()


@st.cache_resource(show_spinner=False)
def _janitor() -> Janitor:
    """The server's one janitor thread (started by the first session), after removing the
    half-written files an earlier run left in the cache folder (a crash, a full disk).

    It also moves every object alive then (mostly the imported libraries') to the garbage
    collector's permanent generation (``gc.freeze``): a full collection — after an upload
    (:func:`release_freed_memory`), the janitor's, or one Python starts by itself — holds every
    session's thread while it walks the objects it tracks, so it walks only what the sessions
    made since (docs/results.md §7.1)."""
    gc.freeze()
    remove_leftovers(cache_dir())
    return Janitor((FEATURES, SEARCHES, PICTURES, CLIPS), HOLDERS, _release_memory,
                   _session_count, JANITOR_PERIOD_S, UNHELD_IDLE_S).start()


def _features(content_hash: str, kind: str, whiten: float | None, _audio: Audio) -> FeatureTrack:
    """The track's features of ``kind`` (shared, read-only: see :mod:`.track_cache`)."""
    def make() -> FeatureTrack:
        with st.spinner("Computing features…"):
            return analyse(_audio.name, extract_features, _audio, kind, whiten=whiten)

    return FEATURES.get(content_hash, (kind, whiten), make)


def _search(content_hash: str, kind: str, whiten: float | None, window_frames: int,
            _values: np.ndarray) -> WindowSearch:
    """A window search over these features (shared between sessions on the same track)."""
    # a writable copy for torch, which keeps its own centred frames; the copy goes at once
    return SEARCHES.get(content_hash, (kind, whiten, window_frames),
                        lambda: WindowSearch(np.array(_values), window_frames))


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner="Finding the beat…")
def _beats(content_hash: str, _audio: Audio) -> BeatGrid:
    return analyse(_audio.name, estimate_beats, _audio)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def envelope(content_hash: str, _audio: Audio) -> Envelope:
    """The track's waveform envelope for the plots."""
    return waveform_envelope(_audio.samples, _audio.sr_hz)


def spectrogram(content_hash: str, _audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """(frame times in seconds, log-mel image) of the whole track for the plots (shared,
    read-only)."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        with st.spinner("Drawing the spectrogram…"):
            return analyse(_audio.name, analysis_jobs.spectrogram_image, _audio)

    return PICTURES.get(content_hash, "spectrogram", make)


def clip(content_hash: str, start_s: float, end_s: float, _audio: Audio) -> bytes:
    """A WAV of ``[start_s, end_s)`` seconds for ``st.audio``, from a cache of at most
    :data:`CLIPS_BYTES` (the Track page's first minute is the largest clip)."""
    return CLIPS.get(content_hash, ("clip", start_s, end_s),
                     lambda: clip_wav_bytes(_audio, start_s, end_s))


@dataclasses.dataclass(frozen=True)
class ContextClip:
    """A window's audio with the music before it: what a person recognises a sound by."""

    wav: bytes  # 16-bit WAV from ``lead_s`` before the window to its end
    lead_s: float  # seconds of lead-in (CONTEXT_S, less near the track's start)


def clip_with_context(content_hash: str, start_s: float, end_s: float, _audio: Audio,
                      context_s: float = CONTEXT_S) -> ContextClip:
    """The window ``[start_s, end_s)`` with ``context_s`` of the track before it, for a
    candidate's player. The lead-in plays CONTEXT_GAIN_DB softer and rises to full level over
    the CONTEXT_RAMP_S before the window, so the window's start is heard; ``lead_s`` tells
    the page where the window begins (to mark it). Cached like :func:`clip`."""
    return CLIPS.get(content_hash, ("context", start_s, end_s, context_s),
                     lambda: _context_clip(start_s, end_s, context_s, _audio))


def _context_clip(start_s: float, end_s: float, context_s: float, _audio: Audio) -> ContextClip:
    sr = _audio.sr_hz
    first = max(0, int(round((start_s - context_s) * sr)))
    window = min(max(first, int(round(start_s * sr))), len(_audio.samples))
    stop = min(len(_audio.samples), max(window + 1, int(round(end_s * sr))))
    samples = _audio.samples[first:stop].astype(np.float32, copy=True)
    lead = window - first
    if lead:
        gain = np.full(lead, 10.0 ** (CONTEXT_GAIN_DB / 20.0), dtype=np.float32)
        ramp = min(lead, int(CONTEXT_RAMP_S * sr))
        rise = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp, dtype=np.float32))
        gain[lead - ramp:] += (1.0 - gain[lead - ramp:]) * rise
        samples[:lead] *= gain
    shaped = dataclasses.replace(_audio, samples=samples)  # only written out, never analysed
    return ContextClip(clip_wav_bytes(shaped, 0.0, len(samples) / sr), lead / sr)


def mel_excerpt(audio: Audio, start_s: float, end_s: float) -> np.ndarray:
    """Log-mel (n_mels, frames) dB of ``[start_s, end_s)``, from the cached ``mel`` features."""
    mel = _features(audio.content_hash, "mel", None, audio)
    first, last = mel.seconds_to_frames(start_s), mel.seconds_to_frames(end_s)
    return mel.values[first : max(first + 1, last)].T


def picture_scale(audio: Audio, windows: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """One colour scale (zmin, zmax dB) for the small pictures of these windows of ``audio``
    (a hunt's query and its candidate), for ``hunt_panel.window_picture(..., scale=)``: a
    short or quiet sound shows clearly, and the quieter of two looks darker. Each window counts
    once, whichever picture asks, so both pictures get the same scale; computed once per set
    of windows (kept with the track's pictures)."""
    distinct = tuple(sorted({(float(start), float(end)) for start, end in windows}))
    low, high = PICTURES.get(audio.content_hash, ("scale", distinct), lambda: np.array(
        picture_range(*(mel_excerpt(audio, start, end) for start, end in distinct))))
    return float(low), float(high)


@st.cache_data(max_entries=TRACKS_CACHED, ttl=CACHE_TTL_S,
               show_spinner="Looking for repeated sounds (a few seconds)…")
def suggestions(content_hash: str, kind: str, _workspace: Workspace) -> list[Suggestion]:
    """Discovery on the raw features of ``kind`` (as measured in docs/results.md §6.3)."""
    from loopfind_core.retrieval.discovery import discover

    raw = _features(content_hash, kind, None, _workspace.audio)
    return analyse(_workspace.audio.name, discover, raw, _workspace.beats)


@st.cache_resource(max_entries=LIBRARY_TRACKS_CACHED, ttl=CACHE_TTL_S, show_spinner=False)
def library_track_audio(path: str) -> Audio:
    """One library track's audio, decoded when one of its windows is first played or drawn."""
    return analyse(Path(path).name, load_audio, path)


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
    return analyse(Path(path).name, log_mel,
                   audio_from_samples(audio.samples[first:last], audio.sr_hz))


# ----- the workspace of this browser session -------------------------------------------------
#
# It is kept on disk (loopfind_core.interactive.workspace_store) under a token of this browser:
# the URL's ?w= (so a reload or a server restart finds it) and the browser's localStorage (so
# opening the app again offers to resume). save_workspace() runs after every change, before the
# page draws it.

TOKEN_PARAM = "w"  # the URL's query parameter holding this browser's workspace token
_TOKEN, _TRACK, _SAVED = "workspace_token", "workspace_track", "workspace_saved"
_DISMISSED = "workspace_resume_dismissed"
_MEMORY_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const KEY = "loopfind.workspace";
  let stored = null;
  try { stored = window.localStorage.getItem(KEY); } catch (e) { return; }
  const token = data && data.token;  // set once this browser's workspace holds something
  if (!window.__loopfindWorkspaceRead) {  // once per page load: what an earlier visit left
    window.__loopfindWorkspaceRead = true;
    if (stored && stored !== (data && data.current)) setStateValue("last", stored);
  }
  if (token && token !== stored) {
    try { window.localStorage.setItem(KEY, token); } catch (e) { /* private mode: no offer */ }
  }
}
"""
_memory = st.components.v2.component(  # no HTML; its element is hidden (no gap in the page)
    "loopfind_workspace_memory", js=_MEMORY_JS, isolate_styles=False,
    css=".st-key-workspace_memory { display: none; }")


@dataclasses.dataclass(frozen=True)
class ResumeOffer:
    """A workspace this browser saved earlier, as the app offers it."""

    token: str
    text: str  # "track · n hunts · m answers · when", Markdown-safe


def new_workspace(audio: Audio, truth: tuple[SoundTruth, ...] = ()) -> Workspace:
    """A workspace whose features, searches and beats come from the shared caches."""
    key = audio.content_hash
    ws = Workspace(
        audio, truth,
        features=lambda kind, whiten: _features(key, kind, whiten, audio),
        searches=lambda track, whiten, frames: _search(key, track.kind, whiten, frames,
                                                       track.values),
        beats_provider=lambda: _beats(key, audio),
    )
    HOLDERS.hold(ws, key)  # its track's cache entries stay while this workspace lives
    return ws


def workspace() -> Workspace:
    """This session's workspace: the one saved under the URL's token (a reload, a server
    restart), else the demo track (with its ground truth) on first visit."""
    _janitor()
    keeping.require_app_navigation()  # a deep link after a restart runs through app.py
    if "workspace" not in st.session_state:
        store = _store()
        token = keeping.adopt_token(st.query_params.get(TOKEN_PARAM), store)  # never a chosen one
        if token is None or not _restore(token):
            audio, truth = demo_track()
            _bind(new_workspace(audio, truth), TrackRef(audio.content_hash, "demo", audio.name),
                  token or keeping.issue_token(store))
    token = st.session_state[_TOKEN]
    if st.query_params.get(TOKEN_PARAM) != token:  # a new visit, or a page switch cleared it
        st.query_params[TOKEN_PARAM] = token
    return st.session_state.workspace


def use_upload(name: str, data: bytes) -> Workspace:
    """Decode an upload and make it this session's track (the old hunts go with the old track);
    its bytes are kept for resuming.

    Raises:
        LoopfindError: the file is not audio this tool can read; the current track stays.
    """
    audio = dataclasses.replace(analyse(display_name(name), load_audio, data),
                                name=display_name(name))
    kept = None
    store = _store()
    token = st.session_state.get(_TOKEN) or keeping.issue_token(store)
    if store is not None:
        try:  # under the quotas: this workspace's replaced upload goes (upload_quota.py)
            kept = store.keep_upload(data, audio.content_hash, Path(display_name(name)).suffix,
                                     token=token)
        except LoopfindError as error:
            _say(f"{error} This track cannot be resumed later.")
    _bind(new_workspace(audio), TrackRef(audio.content_hash, "upload", audio.name, kept), token)
    save_workspace()
    release_freed_memory()
    return st.session_state.workspace


def use_demo() -> Workspace:
    """Go back to the demo track (a fresh workspace: the upload's hunts are dropped)."""
    audio, truth = demo_track()
    token = st.session_state.get(_TOKEN) or keeping.issue_token(_store())
    _bind(new_workspace(audio, truth), TrackRef(audio.content_hash, "demo", audio.name), token)
    save_workspace()
    return st.session_state.workspace


def workspace_token() -> str:
    """This session's workspace token ("" before the workspace is made)."""
    return st.session_state.get(_TOKEN) or ""


def _bind(ws: Workspace, track: TrackRef, token: str, saved: bool = False) -> None:
    st.session_state.workspace = ws
    st.session_state.track_source = track.source
    st.session_state[_TRACK] = track
    st.session_state[_TOKEN] = token
    st.session_state[_SAVED] = saved


# ----- keeping it: the store, saving, restoring, the resume offer ------------------------------


def _store() -> WorkspaceStore | None:
    return keeping.store()


def _say(message: str) -> None:
    """Tell the user what happened to their work (the app goes on): a toast, and a notice at
    the top of the page (``app.py``) that stays until it is dismissed."""
    st.toast(message, icon=":material/warning:", duration="long")
    keeping.notice(message)


def save_workspace() -> bool:
    """Store this session's workspace (and its Library hunt) under its token: an idempotent
    sync (about a millisecond) to call after every change and before the page draws it, so
    what the user sees is on disk. A workspace with nothing in it is not stored until it
    holds something.

    It writes only what changed since this session last saved or loaded, on the revision it
    saw then. When another tab saved since (or, with nothing new here, has saved since), this
    session is shown the newest stored state instead and told which of its answers were not
    kept. A failure (busy, disk full, read-only) is said, and the work stays in this session:
    the next call tries again. After the store's file was replaced under the server, the
    work is written again.

    Returns:
        True when the workspace was replaced by the newest stored state (a fragment then
        reruns the whole page).
    """
    ws, token = st.session_state.get("workspace"), st.session_state.get(_TOKEN)
    track: TrackRef | None = st.session_state.get(_TRACK)
    if ws is None or token is None or track is None:
        return False
    snapshot, library = ws.snapshot(), keeping.library_record()
    untouched = (track.source == "demo" and snapshot.selection is None and not snapshot.hunts
                 and snapshot.latency_offset_ms == 0.0 and library is None)
    if untouched and not st.session_state.get(_SAVED):
        return False
    store = _store()
    if store is None:
        return False
    digest, synced = keeping.fingerprint(track, snapshot, library), keeping.synced()
    try:
        if synced is not None and synced.fingerprint == digest \
                and synced.generation == store.generation:
            if store.revision(token) > synced.revision:  # another tab saved: show it here
                return _refresh(token, "")
            return False
        if track.source == "upload" and track.file is None:  # its audio could not be kept
            store.delete(token)
            st.session_state[_SAVED] = True
            return False
        revision = store.save(token, track, snapshot, library=library,
                              revision=synced.revision if synced is not None else 0)
    except StaleWorkspaceError:
        stored = store.load(token)
        lost = "" if stored is None else keeping.lost_answers(snapshot, library, stored.snapshot,
                                                              stored.library)
        return _refresh(token, lost)
    except LoopfindError as error:
        _say(str(error))
        return False
    keeping.mark_synced(revision, digest, store)
    st.session_state[_SAVED] = True
    return False


def _refresh(token: str, lost: str) -> bool:
    """Show the newest stored state of ``token``'s workspace in this tab, saying so."""
    if not _restore(token):
        return False
    keeping.notice("Another tab changed this workspace: this tab now shows its newest state."
                   + (f" {lost}" if lost else ""))
    return True


def _restore(token: str) -> bool:
    """Make the workspace saved under ``token`` this session's (its Library hunt is rebuilt
    when the Library page opens); False (saying why, when there was one that could not be
    restored) if there is none.

    Raises:
        DemoPending: it is of the demo, which is still being composed.
    """
    store = _store()
    if store is None:
        return False
    try:
        stored = store.load(token)
        if stored is None:
            return False
        with st.spinner("Restoring your hunt…"):
            if stored.track.source == "demo":
                audio, truth = demo_track()
            else:
                name = display_name(stored.track.name)
                audio = dataclasses.replace(
                    analyse(name, load_audio, store.upload_bytes(stored.track.file)), name=name)
                truth = ()
            if audio.content_hash != stored.track.content_hash:
                raise WorkspaceStoreError("its track is not the one it was saved with.")
            ws = new_workspace(audio, truth)
            problems = ws.restore(stored.snapshot)
    except LoopfindError as error:
        _say(f"Your saved hunt could not be restored: {error}")
        return False
    _bind(ws, stored.track, token, saved=True)
    st.session_state.pop("library_hunt", None)
    st.session_state.pop(keeping.LIBRARY_PARAMS, None)
    st.session_state[keeping.LIBRARY_RECORD] = stored.library
    keeping.mark_synced(stored.revision, keeping.fingerprint(
        stored.track, ws.snapshot(), stored.library), store)
    if problems:
        _say("Your hunt is restored, except: " + " ".join(problems))
    return True


def resume_offer() -> ResumeOffer | None:
    """Remember this browser's token in its localStorage (once its workspace holds something)
    and return the workspace the browser remembers from an earlier visit, while this session
    has started nothing: what the app offers to resume. Draws an invisible element."""
    token, saved = st.session_state.get(_TOKEN), st.session_state.get(_SAVED)
    current = token or valid_token(st.query_params.get(TOKEN_PARAM))  # a reload restores that
    result = _memory(key="workspace_memory", on_last_change=lambda: None,
                     data={"token": token if saved else None, "current": current})
    last = valid_token(getattr(result, "last", None))
    if (last is None or last == current or saved
            or last in st.session_state.get(_DISMISSED, ())):
        return None
    store = _store()
    try:
        stored = store.load(last) if store is not None else None
    except LoopfindError:
        return None
    if stored is None:
        return None
    hunts, answers = stored.n_hunts, stored.n_answers
    when = time.strftime("%d %b %Y, %H:%M", time.localtime(stored.touched_at))
    return ResumeOffer(last, f"{plain(stored.track.name)} · {hunts} hunt{'s' * (hunts != 1)} · "
                             f"{answers} answer{'s' * (answers != 1)} · {when}")


def resume(token: str) -> None:
    """Resume button: the saved workspace of ``token`` becomes this session's."""
    try:
        restored = _restore(token)
    except DemoPending:
        _say("The demo track is still being prepared: try again in a minute.")
        return
    if not restored:
        dismiss_resume(token)


def dismiss_resume(token: str) -> None:
    """Start fresh button: stop offering ``token``'s workspace in this session."""
    st.session_state[_DISMISSED] = (*st.session_state.get(_DISMISSED, ()), token)
