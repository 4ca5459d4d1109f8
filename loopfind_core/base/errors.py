"""The one exception family for everything a user can get wrong.

Every message is a sentence a person understands: it names the bad value and what would be
valid. Code that catches a low-level error (soundfile, librosa, torch) re-raises one of these
with ``from`` so the cause stays available to developers, never shown to users.
"""

from __future__ import annotations


class LoopfindError(Exception):
    """Base class of every user-facing error in Loopfind."""


class AudioError(LoopfindError):
    """The audio could not be decoded or is unusable (empty, silent, too short or too long)."""


class DatasetError(LoopfindError):
    """A folder of data is missing or malformed: a dataset and its ``annotations.csv``, a folder
    of training audio, a library index."""


class SelectionError(LoopfindError):
    """A query window, or an option of a search on a track (strategy, patience, feature kind,
    whitening, shortlist), does not make sense for that track."""


class ConfigurationError(LoopfindError):
    """A setting of a run does not make sense: the compute device, or a training, evaluation or
    generator setting."""


class CheckpointError(LoopfindError):
    """A model checkpoint is missing, corrupt or does not match this version of Loopfind."""
