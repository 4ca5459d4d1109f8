"""The Streamlit app's shared pieces: what the pages (``pages/*.py``) use besides layout.

- :mod:`.state`: this browser session's workspace and the caches every session shares;
- :mod:`.text`: names and times made safe and short for display;
- :mod:`.hunt_panel`: the one hunt panel (query, candidate, Yes/No/Undo/Done, found table)
  of the Hunt and Library pages, with :mod:`.track_hunt` and :mod:`.library` for what differs;
- :mod:`.library`: the server's library, building the demo one, listening to its tracks.

May import streamlit and :mod:`loopfind_core`; :mod:`loopfind_core` never imports this package.
"""
