"""What the app and the CLI share: one user's work on one track
(:mod:`.workspace`: selection, hunts), exports for DAWs and games (:mod:`.export`), figures
(:mod:`.figures`) and the Compare page's side-by-side of feature kinds (:mod:`.compare`).

May import: every layer below it (``training``, ``library``, ``retrieval``, ``features``,
``corpus``, ``base``). Not ``research``: the two are siblings.
"""
