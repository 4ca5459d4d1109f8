"""The research harness: the paper's evaluation protocol with a simulated user
(:mod:`.evaluate`, :mod:`.reports`), research switches measured and kept off the product
(:mod:`.variants`), discovery measured against ground truth (:mod:`.discovery`) and the speed
and memory benchmark (:mod:`.bench`).

May import: every layer below it (``training``, ``library``, ``retrieval``, ``features``,
``corpus``, ``base``). Not ``interactive``: the app never depends on the research harness.
"""
