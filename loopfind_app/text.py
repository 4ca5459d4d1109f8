"""Names and times for display: pure functions, no Streamlit."""

from __future__ import annotations

from pathlib import Path

MAX_DISPLAY_NAME_CHARS = 80
MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#+-.!|<>~$:")


def display_name(name: str) -> str:
    """An uploaded file's name for display and export only: the last path component, printable
    characters, at most :data:`MAX_DISPLAY_NAME_CHARS` of them. Never used to build a path."""
    base = Path(str(name).replace("\\", "/")).name
    printable = "".join(ch for ch in base if ch.isprintable())
    return printable[:MAX_DISPLAY_NAME_CHARS] or "upload"


def format_time(seconds: float) -> str:
    """``m:ss.ss`` for display (negative times show as 0:00.00; 59.999 s as 1:00.00)."""
    minutes, rest = divmod(round(max(0.0, float(seconds)), 2), 60.0)
    return f"{int(minutes)}:{rest:05.2f}"


def plain(text: str) -> str:
    """User text (file or sound names) made safe for Markdown: every special character escaped,
    so it shows literally — no links, images, HTML or formatting."""
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in str(text))
