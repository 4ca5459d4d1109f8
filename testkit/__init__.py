"""Helpers shared by the tests (``tests/``) and the scripts (``scripts/``): generated audio with
planted sounds, broken and hostile inputs, the headless-Chromium driver, the load test and the
soak. Modules here may import ``loopfind_core``; they never import ``tests``.

- :mod:`testkit.audio`: small generated tracks with a chirp planted at known times;
- :mod:`testkit.training`: a tiny training configuration and its audio;
- :mod:`testkit.hostile_inputs`: the corpus of broken and hostile inputs
  (``python -m testkit.hostile_inputs`` prints it);
- :mod:`testkit.browser`: the app in headless Chromium, with Playwright;
- :mod:`testkit.deck`: pressing the answer deck's buttons in AppTest;
- :mod:`testkit.protocol`: a light client of Streamlit's websocket protocol (no browser);
- :mod:`testkit.answer_bench`: answer latency in the browser and on the server;
- :mod:`testkit.load`: many browser sessions at once;
- :mod:`testkit.soak`: hundreds of hunts through the core API.
"""
