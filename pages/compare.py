"""Compare: every feature kind judged against your own answers (or the demo's ground truth)."""

from __future__ import annotations

import zlib

import pandas as pd
import streamlit as st

from loopfind_app import compare_view, sidebar, state
from loopfind_app.text import format_time
from loopfind_core.interactive import compare
from loopfind_core.interactive.compare_figures import comparison_html

ws = state.workspace()
st.title("Compare features")
sources = compare_view.answer_sources(ws)
if not sources:
    st.info("Hunt a sound first (on Hunt or Library) and confirm at least one occurrence: this "
            "page judges every feature kind against your answers.")
    st.page_link("pages/hunt.py", label="Hunt a sound →", icon=":material/search:")
    sidebar.stop_page()

labels = [s.label for s in sources]
chosen = st.selectbox("Judge the feature kinds against", labels,  # new answers: a new menu
                      key=f"compare_source_{zlib.crc32(' '.join(labels).encode())}")
source = sources[labels.index(chosen)] if chosen in labels else sources[0]
answers = source.answers
kinds = compare_view.compared_kinds()
key = (ws.audio.content_hash, answers.to_json(), kinds, source.strategy)
result = compare_view.comparison(*key, ws)

whitened = st.toggle("Whitened features (as the hunt uses them by default)",
                     value=ws.whiten is not None, key="compare_whiten",
                     help="Off: the paper's raw features. On: whitened with the track's own "
                          "covariance (docs/results.md §6.1).")
n = len(answers.confirmed_s)
truth = answers.from_truth
st.caption(
    f"Query {format_time(answers.query_start_s)} + {answers.duration_s:.2f} s. "
    + (f"The truth: the demo's {n} other annotated occurrences; every other window is known "
       "not to be the sound." if truth else
       f"The truth: your {n} confirmed occurrence{'s' if n != 1 else ''} and "
       f"{len(answers.rejected_s)} rejected window{'s' if len(answers.rejected_s) != 1 else ''}."
       " A simulated user hunts with each kind and answers as you did; a window you "
       "never judged counts as no and is listed as “never judged” (had it been the sound, "
       "that kind's count would differ)."))
found = compare.verdict(result, whitened)
if found is not None:
    st.success(found.text, icon=":material/balance:")
for line in result.skipped:
    st.caption(f"Not compared: {line}")

rank_fig, distance_fig = compare_view.figures(*key, whitened, None, ws)
st.subheader("Where each occurrence ranks")
st.caption("Each dot is one occurrence: its rank in the order a search with no answers proposes "
           f"windows (1 = first; >{compare.MAX_RANKED_PROPOSALS}: not in the first "
           f"{compare.MAX_RANKED_PROPOSALS}). Higher up is better; above each kind, the "
           "judgements a simulated user needed to find them all.")
st.plotly_chart(rank_fig, key="rank_plot", config={"displaylogo": False})
left, right = st.columns([3, 1])
with left:
    rows = [r for r in result.results if r.whitened == whitened]
    table = pd.DataFrame({
        "features": [state.KIND_LABELS.get(r.kind, r.kind) for r in rows],
        "judgements": [r.hunt.judgements for r in rows],
        "found": [f"{r.hunt.found} / {r.hunt.total}" for r in rows],
        "never judged": [r.hunt.unknown for r in rows],
        "median rank": [pd.Series([x or compare.MAX_RANKED_PROPOSALS + 1 for x in r.ranks])
                        .median() for r in rows],
    })
    st.table(table.set_index("features"))  # plain HTML: readable by everyone, and copyable
    st.caption(f"Judgements: windows a simulated user judged until every occurrence was found "
               f"(strategy {source.strategy}, no patience limit, at most "
               f"{compare.MAX_JUDGEMENTS}).")
with right:
    stem = (ws.audio.name or "track").rsplit(".", 1)[0]
    st.download_button("Figures (HTML)", key="compare_html", icon=":material/download:",
                       data=lambda: comparison_html(result, whitened, found),
                       file_name=f"{stem}-comparison.html", mime="text/html", on_click="ignore",
                       width="stretch")
    st.download_button("Ranks (CSV)", compare.comparison_csv(result), key="compare_csv",
                       file_name=f"{stem}-ranks.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", width="stretch")
    st.download_button("Answers (JSON)", answers.to_json(), key="compare_answers",
                       file_name=f"{stem}-answers.json", mime="application/json",
                       on_click="ignore", icon=":material/download:", width="stretch",
                       help="For the CLI: loopfind compare TRACK --answers this.json")

st.subheader("Distance to the query over the track")
st.caption("Each kind's distance from the query window to the window starting at each time, "
           "divided by its median (1 = a typical window; the lowest value of each column is "
           "drawn). Green dots: " + ("the true occurrences" if truth else "your confirmed "
           "occurrences") + "; red crosses: windows you rejected; blue: the query. The kind "
           "whose green dots sit lowest, below every other dip, separates the sound best.")
duration = float(ws.audio.duration_s)
zoom = st.slider("Zoom to (s)", 0.0, duration, (0.0, duration), step=1.0, key="compare_zoom")
zoom_s = None if zoom == (0.0, duration) else (float(zoom[0]), float(zoom[1]))
if zoom_s is not None:
    distance_fig = compare_view.figures(*key, whitened, zoom_s, ws)[1]
st.plotly_chart(distance_fig, key="distance_curves", config={"displaylogo": False})

st.subheader("Self-similarity")
st.caption("Cosine similarity between every pair of moments of the track: repeated material "
           "shows as bright diagonal stripes. Sharper stripes = features that see repetition.")
options = [r.label for r in result.results if r.whitened == whitened]
defaults = [o for o in options if o.split(" ")[0] in ("mfcc", "learned")] or options[:2]
shown = st.multiselect("Kinds to show (up to 3)", options, default=defaults, max_selections=3,
                       key=f"ssm_kinds_{whitened}")
if shown:
    st.plotly_chart(compare_view.self_similarity_picture(*key, tuple(shown), ws), key="ssm",
                    config={"displaylogo": False})
