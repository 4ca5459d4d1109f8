"""Feature tracks: one vector per spectrogram frame (paper §III-C/D).

The frame container (:mod:`.track`), the classic kinds with no network (:mod:`.classic`: MFCC,
log-mel, standardised log-mel, whitening), the learned encoder and its checkpoints
(:mod:`.encoder`), and the registry that names every kind (:mod:`.registry`).

May import: ``base``.
"""
