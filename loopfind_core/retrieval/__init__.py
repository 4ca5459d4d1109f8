"""Finding a sound in one feature track: the sliding-window distance search
(:mod:`.search`), the interactive session of the paper's Algorithm 1 (:mod:`.session`: propose,
answer, undo, auto-accept) and discovery of a track's repeated sounds (:mod:`.discovery`).

This is the product's hot path: it carries only what the app and the CLI use.

May import: ``base``, ``features``, ``corpus``.
"""
