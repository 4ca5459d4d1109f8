"""Per-track results every session shares, bounded in bytes and released with their sessions.

``st.cache_data`` hands every caller a pickled copy of what it keeps: a whole track's features
(megabytes) copied on every hit, several times per answer. And
``max_entries`` counts entries, not bytes, so the ceiling grew with track length. Here instead:

- :class:`TrackCache`: a least-recently-used cache of results keyed by a track's content hash
  and the call's arguments, bounded by the bytes its values hold (:func:`nbytes`), a number of
  entries and a time to live. A hit returns the one shared object, without a copy; its numpy
  arrays are made read-only (:func:`frozen`), so no caller can change what another sees. One
  computation per key at a time: concurrent callers of the same key wait for the first and
  share its result.
- :class:`TrackHolders`: which tracks live sessions still use (each session's workspace, held
  weakly). :meth:`TrackCache.release_unheld` drops the entries of tracks no live session holds
  once they have been idle a while, so memory comes back when sessions end, not at the next
  eviction.
- :class:`Janitor`: a daemon thread of the server that does that sweep periodically, then
  collects garbage and hands freed heap pages back to the OS
  (:func:`~loopfind_core.base.memory.release_freed_memory`).

Pure Python and numpy (no Streamlit): ``loopfind_app.state`` wires it into the app;
``tests/app_tests/test_track_cache.py`` tests it alone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

import numpy as np

T = TypeVar("T")
MiB = 1 << 20
MAX_ENTRIES = 4096  # entries per cache at most, whatever their bytes: so small values (a
#                    colour scale, a figure of a short window) are bounded in number too


def nbytes(value: object, _depth: int = 0) -> int:
    """The bytes of the arrays, tensors and byte strings ``value`` holds (in its fields,
    attributes, tuples, lists and dicts, 4 levels deep); other objects count 0. What a cache
    entry costs, to within the small objects around the buffers."""
    if _depth > 4 or value is None:
        return 0
    if isinstance(value, np.ndarray):
        while isinstance(value.base, np.ndarray):  # a view keeps its whole base alive
            value = value.base
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "element_size"):
        return int(value.element_size() * value.nelement())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v, _depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v, _depth + 1) for v in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), _depth + 1)
                   for f in dataclasses.fields(value))
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sum(nbytes(v, _depth + 1) for v in vars(value).values())
    return 0


def frozen(value: T) -> T:
    """``value`` with every numpy array it holds (in its fields, tuples and lists, 4 levels
    deep) made read-only in place: a shared cache entry that no caller can change."""

    def freeze(item: object, depth: int) -> None:
        if depth > 4 or item is None:
            return
        if isinstance(item, np.ndarray):
            item.flags.writeable = False
        elif isinstance(item, (tuple, list)):
            for part in item:
                freeze(part, depth + 1)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            for f in dataclasses.fields(item):
                freeze(getattr(item, f.name), depth + 1)

    freeze(value, 0)
    return value


@dataclasses.dataclass
class _Entry:
    value: object
    nbytes: int
    used_at: float  # clock seconds of the last hit or of its computation


class TrackHolders:
    """Which tracks (content hashes) live owners use: each owner (a session's workspace) is
    held weakly, so it stops counting once it is garbage."""

    def __init__(self) -> None:
        self._owners: dict[str, list[weakref.ref]] = {}  # any object, hashable or not
        self._lock = threading.Lock()

    def hold(self, owner: object, content_hash: str) -> None:
        """Count ``content_hash`` as used while ``owner`` lives."""
        with self._lock:
            self._owners.setdefault(content_hash, []).append(weakref.ref(owner))

    def held(self) -> set[str]:
        """The content hashes some live owner holds."""
        with self._lock:
            for content_hash, owners in list(self._owners.items()):
                owners[:] = [ref for ref in owners if ref() is not None]
                if not owners:
                    del self._owners[content_hash]
            return set(self._owners)


class TrackCache:
    """A least-recently-used cache of per-track results, at most ``max_bytes`` (by
    :func:`nbytes`) in at most ``max_entries`` entries, each at most ``ttl_s`` seconds unused;
    see the module docstring.

    A value larger than ``max_bytes`` alone is returned but not kept.
    """

    def __init__(self, name: str, max_bytes: int, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.name = name
        self.max_bytes = int(max_bytes)
        self.max_entries = int(max_entries)
        self.ttl_s = float(ttl_s)
        self._clock = clock
        self._entries: OrderedDict[tuple[str, Hashable], _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[tuple[str, Hashable], threading.Lock] = {}

    @property
    def bytes(self) -> int:
        """The bytes the kept values hold now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[tuple[str, Hashable]]:
        """(content hash, key) of every entry, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, content_hash: str, key: Hashable, make: Callable[[], T]) -> T:
        """The value of (``content_hash``, ``key``): the kept one, else ``make()``'s (frozen,
        kept, the least recently used entries dropped to stay within ``max_bytes``)."""
        full_key = (content_hash, key)
        hit = self._lookup(full_key)
        if hit is not None:
            return hit.value  # type: ignore[return-value]
        with self._lock:
            guard = self._computing.setdefault(full_key, threading.Lock())
        with guard:  # one computation per key; others wait and share it
            hit = self._lookup(full_key)
            if hit is not None:
                return hit.value  # type: ignore[return-value]
            try:
                value = frozen(make())
                self._put(full_key, value)
            finally:
                with self._lock:
                    self._computing.pop(full_key, None)
        return value

    def _lookup(self, full_key: tuple[str, Hashable]) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(full_key)
            if entry is None:
                return None
            now = self._clock()
            if now - entry.used_at > self.ttl_s:
                self._drop(full_key)
                return None
            entry.used_at = now
            self._entries.move_to_end(full_key)
            return entry

    def _put(self, full_key: tuple[str, Hashable], value: object) -> None:
        size = nbytes(value)
        if size > self.max_bytes:
            return
        with self._lock:
            if full_key in self._entries:
                self._drop(full_key)
            while self._entries and (self._bytes + size > self.max_bytes
                                     or len(self._entries) >= self.max_entries):
                self._drop(next(iter(self._entries)))
            self._entries[full_key] = _Entry(value, size, self._clock())
            self._bytes += size

    def _drop(self, full_key: tuple[str, Hashable]) -> int:
        entry = self._entries.pop(full_key)
        self._bytes -= entry.nbytes
        return entry.nbytes

    def release_unheld(self, held: Iterable[str], idle_s: float) -> int:
        """Drop the entries of tracks not in ``held`` unused for ``idle_s`` seconds, and every
        entry past its time to live; the bytes freed."""
        held = set(held)
        now = self._clock()
        freed = 0
        with self._lock:
            for full_key, entry in list(self._entries.items()):
                idle = now - entry.used_at
                if idle > self.ttl_s or (full_key[0] not in held and idle >= idle_s):
                    freed += self._drop(full_key)
        return freed

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


class Janitor:
    """A daemon thread that, every ``period_s``, releases the entries of tracks no session
    holds (idle ``idle_s`` or more) from ``caches`` and then, if anything went or the number
    of sessions fell, collects garbage and returns freed heap pages to the OS (``release``).

    ``sessions`` counts the server's sessions (None where unknown); a fall means a session's
    objects may await the cycle collector, which must run before their tracks count as free.
    """

    def __init__(self, caches: Iterable[TrackCache], holders: TrackHolders, release: Callable[[],
                 None], sessions: Callable[[], int | None], period_s: float,
                 idle_s: float) -> None:
        self.caches = tuple(caches)
        self.holders = holders
        self.release = release
        self.sessions = sessions
        self.period_s = period_s
        self.idle_s = idle_s
        self._last_sessions: int | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="loopfind-cache-janitor",
                                       daemon=True)

    def start(self) -> Janitor:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> int:
        """One pass (what the thread does each period); the bytes the caches freed."""
        count = self.sessions()
        fell = count is not None and self._last_sessions is not None \
            and count < self._last_sessions
        self._last_sessions = count
        if fell:
            self.release()  # the ended session's workspace, if it sits in a reference cycle
        held = self.holders.held()
        freed = sum(cache.release_unheld(held, self.idle_s) for cache in self.caches)
        if freed:
            self.release()
        return freed

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 — a failed sweep must not end the thread
                import logging

                logging.getLogger("loopfind.app").exception("cache sweep failed")
