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


class AnalysisCrashError(LoopfindError):
    """The process analysing a track died (a crash in native code, or out of memory). The
    server and every other session go on; a new process takes its place, so trying again
    works unless the track itself makes it crash again."""

    def __init__(self, what: str = "the track") -> None:
        super().__init__(f"The analysis of {what} stopped unexpectedly: the process doing it "
                         "crashed or ran out of memory. Your work is kept and nothing else was "
                         "affected. Press Retry to try again.")
