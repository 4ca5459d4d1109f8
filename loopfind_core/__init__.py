"""Loopfind core: find every occurrence of a sound in a music track."""

__version__ = "0.1.0"
