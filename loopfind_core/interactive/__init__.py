"""What the app and the CLI share: one user's work on one track
(:mod:`.workspace`: selection, hunts) and where it is kept between visits
(:mod:`.workspace_store`: SQLite), exports for DAWs and games (:mod:`.export`, :mod:`.events`,
:mod:`.game_packages`), the game-like preview's data (:mod:`.preview`), figures
(:mod:`.figures`) and the Compare page's side-by-side of feature kinds (:mod:`.compare`).

May import: every layer below it (``training``, ``library``, ``retrieval``, ``features``,
``corpus``, ``base``). Not ``research``: the two are siblings.
"""
