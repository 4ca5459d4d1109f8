"""The Streamlit app's shared pieces: what the pages (``pages/*.py``) use besides layout.

- :mod:`.state`: this browser session's workspace (kept in SQLite between visits), and the
  caches every session shares;
- :mod:`.track_cache`: those caches bounded in bytes, shared without copies, released when
  no session holds their track;
- :mod:`.text`: names and times made safe and short for display;
- :mod:`.sidebar`: the summary of the track, the selection and the hunts, always current;
- :mod:`.hunt_panel`: the one hunt panel (query, candidate, Yes/No/Undo/Done, found table)
  of the Hunt and Library pages, with :mod:`.track_hunt` and :mod:`.library` for what differs;
  :mod:`.answer_deck` answers in the browser at once (both next candidates are sent ahead);
  :mod:`.batch_review` reviews 12 windows at a time;
- :mod:`.waveform_player`: the whole track with a playhead and click-to-hear;
- :mod:`.preview`: the Preview page's player, events firing in sync on the audio clock;
- :mod:`.library`: the server's library, building the demo one, listening to its tracks.

May import streamlit and :mod:`loopfind_core`; :mod:`loopfind_core` never imports this package.
"""
