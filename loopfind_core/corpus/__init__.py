"""Data with ground truth: the dataset format (``annotations.csv``), the ground truth's
matching rules and simulated user (:mod:`.truth`), the procedural generator of benchmark tracks
(:mod:`.synth`) and the built-in demo corpus.

May import: ``base``. It knows nothing of features or search: a simulated user drives any
session through ``propose``/``answer``.
"""
