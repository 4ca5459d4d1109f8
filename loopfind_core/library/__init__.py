"""Many tracks at once: the index database (:mod:`.database`, SQLite) and reading an index
(:mod:`.manifest`), the feature store that builds it (:mod:`.store`) on an engine
(:mod:`.engine`: local processes or Dask), the faiss vector index that shortlists tracks
(:mod:`.vector_index`), hunts across tracks (:mod:`.hunt`), which library a server offers
(:mod:`.catalog`) and the demo library.

May import: ``base``, ``features``, ``corpus``, ``retrieval``. Not ``training``: the two are
siblings.
"""
