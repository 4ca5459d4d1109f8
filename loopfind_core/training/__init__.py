"""Learning the ``learned`` feature kind without labels (BYOL + autoencoder, paper
§III-D): the run's settings (:mod:`.config`), its data (:mod:`.data`), augmented views
(:mod:`.views`), networks and losses (:mod:`.learner`) and the loop (:mod:`.loop`, DDP under
``torchrun``).

May import: ``base``, ``features``, ``corpus``, ``retrieval``. Not ``library``: the two are
siblings.
"""
