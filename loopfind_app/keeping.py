"""Keeping this browser session's work: the server's workspace store, tokens, revisions, and
what the user is told when something happens to their saved work.

:mod:`loopfind_app.state` saves and restores the workspace; this module holds what that needs
and does not depend on the workspace itself:

- :func:`store`: the server's :class:`~loopfind_core.interactive.workspace_store.
  WorkspaceStore` (busy: tried again on the next run, never cached as broken; closed cleanly
  at exit, so ``workspaces.sqlite`` holds every answer);
- tokens only the server issued (:func:`adopt_token`): a token typed into a URL is replaced;
- the revision this session last saved or loaded (:func:`synced`, :func:`mark_synced`), so a
  stale tab is refused and shown the newest state instead of overwriting it;
- :func:`notice`: messages in users' words, drawn at the top of the page by ``app.py``
  (:func:`draw_notices`) until the next change;
- :func:`require_app_navigation`: a page run without ``app.py`` (a deep link to a restarted
  server, which Streamlit would serve from ``pages/`` directly) reruns through ``app.py``.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from loopfind_core.base.errors import LoopfindError
from loopfind_core.base.paths import cache_dir
from loopfind_core.interactive.workspace import WorkspaceSnapshot
from loopfind_core.interactive.workspace_store import (
    LibraryHuntRecord,
    StoreBusyError,
    WorkspaceStore,
    new_token,
    valid_token,
)

log = logging.getLogger("loopfind.app")
_NOTICES = "workspace_notices"
_SYNCED = "workspace_synced"
_NOTED_PROBLEM = "workspace_noted_problem"
LIBRARY_RECORD = "library_hunt_record"  # the Library page's hunt as last saved or restored
LIBRARY_PARAMS = "library_hunt_params"  # how the Library page's hunt in session was started


@dataclass(frozen=True)
class Synced:
    """What this session last saved or loaded: the store's revision of the workspace, a
    fingerprint of its content, and the store's generation (the file it was in)."""

    revision: int
    fingerprint: str
    generation: int


# ----- the store -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _open_store(folder: str) -> tuple[WorkspaceStore | None, str | None]:
    """The store in ``folder``, closed cleanly at exit; or None and why (cached: a folder that
    cannot be written stays so). Busy raises, so the next run tries again."""
    try:
        opened = WorkspaceStore(Path(folder))
    except StoreBusyError:
        raise
    except LoopfindError as error:
        log.warning("workspaces are not saved: %s", error)
        return None, f"Hunts are not saved for resuming here: {error}"
    atexit.register(opened.close)
    try:
        opened.expire_if_due()
    except LoopfindError as error:
        log.warning("old workspaces could not be expired: %s", error)
    return opened, None


def store() -> WorkspaceStore | None:
    """The server's workspace store; None (said once) when it cannot be used now. What
    happened to its file (damaged, read-only, recreated) is said once per happening."""
    try:
        opened, problem = _open_store(str(cache_dir()))
    except StoreBusyError as error:
        notice(str(error))
        return None
    said = opened.problem if opened is not None else problem
    if said and st.session_state.get(_NOTED_PROBLEM) != (said, _generation(opened)):
        st.session_state[_NOTED_PROBLEM] = (said, _generation(opened))
        notice(said)
    return opened


def _generation(opened: WorkspaceStore | None) -> int:
    return -1 if opened is None else opened.generation


# ----- tokens ----------------------------------------------------------------------------------


def issue_token(opened: WorkspaceStore | None) -> str:
    """A fresh token, registered by the store when there is one."""
    return opened.issue_token() if opened is not None else new_token()


def adopt_token(given: object, opened: WorkspaceStore | None) -> str | None:
    """``given`` (the URL's token) if this server issued it, else None (and, when a token
    was given, the user is told their link did not name a workspace here)."""
    token = valid_token(given)
    if token is None or opened is None:
        return None
    try:
        if opened.is_issued(token):
            return token
    except LoopfindError as error:
        notice(str(error))
        return None
    unknown = "This link does not name a workspace of this server, so a fresh one was started."
    if notice(unknown):  # the page is running already: a toast says it now, the notice from
        st.toast(unknown, icon=":material/link_off:", duration="long")  # the next run on
    return None


# ----- revisions -------------------------------------------------------------------------------


def fingerprint(*parts: object) -> str:
    """A short digest of ``parts``' text (NaN spells the same every time)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def synced() -> Synced | None:
    return st.session_state.get(_SYNCED)


def mark_synced(revision: int, digest: str, opened: WorkspaceStore) -> None:
    st.session_state[_SYNCED] = Synced(revision, digest, opened.generation)


def lost_answers(local: WorkspaceSnapshot, library: LibraryHuntRecord | None,
                 stored: WorkspaceSnapshot, stored_library: LibraryHuntRecord | None) -> str:
    """Which answers of this tab the stored state lacks, plainly ("" when none)."""
    stored_hunts = {h.sound: h.answers for h in stored.hunts}
    lost = [(h.sound, _beyond(h.answers, stored_hunts.get(h.sound, ()))) for h in local.hunts]
    if library is not None:
        lost.append(("the library hunt", _beyond(
            library.answers, stored_library.answers if stored_library else ())))
    parts = [f"{n} answer{'s' * (n != 1)} in “{name}”" for name, n in lost if n]
    return ("Not kept from this tab: " + ", ".join(parts) + ".") if parts else ""


def _beyond(mine: tuple, theirs: tuple) -> int:
    same = 0
    while same < min(len(mine), len(theirs)) and mine[same] == theirs[same]:
        same += 1
    return len(mine) - same


# ----- the Library page's hunt -----------------------------------------------------------------


def library_record() -> LibraryHuntRecord | None:
    """The Library page's hunt of this session as plain data: the running one (how it was
    started and its answers), else the one saved and not rebuilt yet, else None."""
    from loopfind_core.interactive.workspace import AnswerSnapshot

    hunt, params = st.session_state.get("library_hunt"), st.session_state.get(LIBRARY_PARAMS)
    if hunt is None or params is None:
        return st.session_state.get(LIBRARY_RECORD)
    session = hunt.session
    answers = tuple(AnswerSnapshot(a.candidate.start_frame, a.candidate.distance, a.is_match,
                                   a.auto, a.page) for a in session.history)
    return LibraryHuntRecord(**params, finished=session.finished, answers=answers)


# ----- what the user is told -------------------------------------------------------------------


def notice(message: str) -> bool:
    """Tell the user something about their saved work, at the top of the page (each message
    once at a time); True when it was not pending already."""
    shown = st.session_state.setdefault(_NOTICES, [])
    if message in shown:
        return False
    shown.append(message)
    log.info("told a user: %s", message)
    return True


def draw_notices() -> None:
    """Draw the pending notices (``app.py``, before the page); each stays until dismissed."""
    shown = st.session_state.get(_NOTICES) or []
    if not shown:
        return
    with st.container(border=True, key="workspace_notices"):
        for message in shown:
            st.warning(message, icon=":material/sync_problem:")
        st.button("OK", key="workspace_notices_ok", on_click=st.session_state.pop,
                  args=(_NOTICES, None))


# ----- deep links ------------------------------------------------------------------------------


VIA_APP = "_lf_via_app"  # session-state flag: app.py has run in this session


def require_app_navigation() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page of ``pages/`` by itself: after a
    restart, the first request of a deep link (``/hunt``) is served from the folder until
    some run calls ``st.navigation``. The rerun runs ``app.py``, which opens the same page.
    A session app.py has run in (its :data:`VIA_APP` flag) is never rerun, so a widget's
    trigger (a submitted form) is not lost; after a restart every session is new."""
    from streamlit.runtime.pages_manager import PagesManager

    if st.session_state.get(VIA_APP):
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what app.py's st.navigation sets
        st.rerun()
