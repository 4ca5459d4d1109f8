"""The base layer: what every other layer stands on.

Errors (the one user-facing exception family), progress callbacks, paths (cache folder, shipped
checkpoints), the torch device, audio decoding and limits, the spectrogram with the paper's STFT
constants, the beat grid, and returning freed memory to the OS.

May import: nothing of loopfind_core outside ``base`` (only numpy, scipy, librosa, soundfile,
torch).
"""
