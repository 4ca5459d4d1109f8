"""The Hunt page's view of the hunt panel: a hunt within this session's track, with each
window's log-mel under its player, the timeline of the whole track, and links to Preview
and Export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import streamlit as st

from loopfind_app import state
from loopfind_app.hunt_panel import HuntView, Place, window_picture
from loopfind_core.interactive.figures import TimelineMarks, timeline_figure
from loopfind_core.interactive.workspace import Workspace
from loopfind_core.retrieval.session import Candidate, RetrievalSession

TIMELINE_CAPTION = (
    "Timeline: blue = query, green = found (dotted edge: auto-accepted), red = rejected, dotted "
    "orange = the candidate now. Zoom by dragging on the plot; double-click to reset."
)


def spans(candidates: list[Candidate]) -> list[tuple[float, float]]:
    """(start, end) seconds of each candidate, for the timeline."""
    return [(c.start_s, c.end_s) for c in candidates]


@dataclass(frozen=True)
class TrackHuntView(HuntView):
    """A hunt in the workspace's own track."""

    workspace: Workspace
    finished_hint: ClassVar[str] = "Preview or export them, or select another sound to hunt."

    def place(self, candidate: Candidate) -> Place:
        return Place(candidate.start_s, candidate.end_s)

    def identity(self) -> str:
        hunt = self.workspace.hunt
        return "" if hunt is None else f"{hunt.sound}|{hunt.kind}|{hunt.whiten}"

    def play(self, place: Place, autoplay: bool = False) -> None:
        st.audio(self.clip(place), format="audio/wav", autoplay=autoplay)

    def clip(self, place: Place) -> bytes:
        audio = self.workspace.audio
        return state.clip(audio.content_hash, place.start_s, place.end_s, audio)

    def context_clip(self, place: Place, context_s: float) -> tuple[bytes, float]:
        audio = self.workspace.audio
        clip = state.clip_with_context(audio.content_hash, place.start_s, place.end_s, audio,
                                       context_s)
        return clip.wav, clip.lead_s

    def picture(self, place: Place, chart_key: str) -> None:
        """On one colour scale with the query and the candidate pending (the eye compares)."""
        audio = self.workspace.audio
        mel = state.mel_excerpt(audio, place.start_s, place.end_s)
        windows = [(place.start_s, place.end_s)]
        if (hunt := self.workspace.hunt) is not None:
            shown = (hunt.session.query, hunt.session.propose())
            windows += [(c.start_s, c.end_s) for c in shown if c is not None]
        window_picture(mel, place.start_s, chart_key, scale=state.picture_scale(audio, windows))

    def before_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        """The whole track with the query, what was found and rejected, and the candidate."""
        marks = TimelineMarks(
            query=(session.query.start_s, session.query.end_s),
            found=spans(session.found),
            rejected=spans(session.rejected),
            candidate=(candidate.start_s, candidate.end_s) if candidate else None,
            automatic=spans(session.auto_accepted),
        )
        audio = self.workspace.audio
        st.plotly_chart(timeline_figure(state.envelope(audio.content_hash, audio), marks),
                        key=self.key("timeline"), config={"displaylogo": False})
        st.caption(TIMELINE_CAPTION)

    def after_table(self, session: RetrievalSession, candidate: Candidate | None) -> None:
        if candidate is None:
            preview, export = st.columns(2)
            preview.page_link("pages/preview.py", label="Preview →",
                              icon=":material/play_circle:")
            export.page_link("pages/export.py", label="Export →", icon=":material/download:")
