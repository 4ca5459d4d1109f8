"""Compare: MFCC, log-mel and learned features side by side for the same query."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from loopfind_app import state
from loopfind_app.text import format_time
from loopfind_core.features.classic import DEFAULT_WHITENING_SHRINKAGE
from loopfind_core.interactive import compare
from loopfind_core.interactive.figures import distance_figure, self_similarity_figure

ws = state.workspace()
st.title("Compare features")
if ws.selection is None:
    st.info("Select a sound first: this page compares the feature kinds on that query.")
    st.page_link("pages/select.py", label="Select a sound →", icon=":material/highlight_alt:")
    st.stop()

sel = ws.selection
kinds = state.feature_kinds()[::-1]  # mfcc, mel, learned: the paper's baseline first
whitened = st.toggle("Whitened features (as the hunt uses them by default)",
                     value=ws.whiten is not None, key="compare_whiten",
                     help="Off: the paper's raw features. On: whitened with the track's own "
                          "covariance (docs/results.md §6.1).")
shrinkage = DEFAULT_WHITENING_SHRINKAGE if whitened else None
tracks = {kind: ws.feature_track(kind, shrinkage) for kind in kinds}
match = ws.truth_match()
truth = match[0].occurrences if match else ()
others = [o for i, o in enumerate(truth) if i != match[1]] if match else []
st.caption(f"Query {format_time(sel.start_s)} – {format_time(sel.end_s)}. "
           + (f"Ground truth: the demo's {match[0].category} “{match[0].sound}”, "
              f"{len(truth)} occurrences (purple)." if match else
              "No ground truth for this query: occurrence ranks and recall need the demo track "
              "and a selection over one of its annotated sounds."))

curves = [compare.distance_curve(tracks[k], sel.start_s, sel.duration_s) for k in kinds]
st.subheader("Distance to the query over the whole track")
st.caption("Each kind's mean squared distance from the query window to the window starting at "
           "each time, divided by its median (1 = a typical window). The true occurrences "
           "should be the deepest dips.")
st.plotly_chart(distance_figure(curves, truth), key="distance_curves",
                config={"displaylogo": False})

if match:
    left, right = st.columns(2)
    with left:
        st.subheader("Where the true occurrences rank")
        st.caption("Rank of each other occurrence in the order a search with no answers would "
                   "propose windows (1 = first proposal; — = not in the first "
                   f"{compare.MAX_RANKED_PROPOSALS}).")
        table = {"occurrence": [format_time(o.start_s) for o in others]}
        for curve in curves:
            ranks = compare.occurrence_ranks(compare.ranked_proposals(curve), curve.window_s,
                                             others)
            table[state.KIND_LABELS[curve.kind]] = [r if r else None for r in ranks]
        st.dataframe(pd.DataFrame(table), hide_index=True, key="rank_table")
    with right:
        st.subheader("Recall a simulated user reaches")
        st.caption("The evaluation protocol: a user answering from the ground truth, patience "
                   "5. Recall = occurrences found / occurrences to find.")
        results = compare.simulated_recalls(tracks, match[0], match[1])
        st.dataframe(pd.DataFrame([
            {"features": state.KIND_LABELS[r.kind], "strategy": r.strategy,
             "found": f"{r.found} / {r.total}", "recall": round(r.recall, 3),
             "answers": r.answers} for r in results
        ]), hide_index=True, key="recall_table",
            column_config={"recall": st.column_config.ProgressColumn(
                "recall", min_value=0.0, max_value=1.0, format="%.2f")})

st.subheader("Self-similarity")
st.caption("Cosine similarity between every pair of moments of the track: repeated material "
           "shows as bright diagonal stripes. Sharper stripes = features that see repetition.")
if st.toggle("Show self-similarity matrices", key="show_ssm", value=True):
    matrices = {state.KIND_LABELS[k]: compare.self_similarity(tracks[k]) for k in kinds}
    st.plotly_chart(self_similarity_figure(matrices, ws.audio.duration_s), key="ssm",
                    config={"displaylogo": False})
