"""Where the real music comes from: tracker modules shipped in Debian packages.

:data:`SOURCES` names each package and the globs of its module files. A song is named
``<package>-<module file stem>``; its split (``dev`` for choices, ``test`` for the final
figures only, ``train`` for the encoder and the match model) is a hash of that name, so it never
changes when sources are added. Only the
packages of :data:`SOURCES` are ever read: any other name is refused.
"""

from __future__ import annotations

import glob
import hashlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from loopfind_core.base.errors import ConfigurationError

DEV_PERCENT = 40  # songs whose name hashes under this percentage go to dev,
TEST_PERCENT = 70  # from DEV_PERCENT to under this one to test, the rest to train
SPLITS = ("dev", "test", "train")


@dataclass(frozen=True)
class Source:
    """One Debian package and the globs of the module files it installs."""

    package: str
    globs: tuple[str, ...]

    def files(self) -> list[Path]:
        return sorted({Path(p) for g in self.globs for p in glob.glob(g) if Path(p).is_file()})


_GAMES = "/usr/share/games"
SOURCES: tuple[Source, ...] = (  # Debian 12 (bookworm) packages that ship tracker modules
    Source("pingus-data", (f"{_GAMES}/pingus/data/music/*.it",
                           f"{_GAMES}/pingus/data/music/*.s3m")),
    Source("tecnoballz-data", (f"{_GAMES}/tecnoballz/musics/*.mod",)),
    Source("gl-117-data", (f"{_GAMES}/gl-117/music/*.s3m",)),
    Source("pachi-data", ("/usr/share/pachi/music/*.s3m",)),
    Source("bomberclone-data", (f"{_GAMES}/bomberclone/music/*.xm",
                                f"{_GAMES}/bomberclone/music/*.mod")),
    Source("madbomber-data", (f"{_GAMES}/madbomber/music/*.mod", f"{_GAMES}/madbomber/music/*.it",
                              f"{_GAMES}/madbomber/music/*.s3m")),
    Source("circuslinux-data", (f"{_GAMES}/circuslinux/data/music/*.mod",)),
    Source("ri-li-data", (f"{_GAMES}/ri-li/Ri-li/Sounds/*.xm",
                          f"{_GAMES}/ri-li/Ri-li/Sounds/*.mod")),
    Source("powermanga-data", (f"{_GAMES}/powermanga/sounds/music_*.zik",)),  # XM files
    Source("penguin-command", (f"{_GAMES}/penguin-command/sound/*.s3m",)),
    Source("njam-data", (f"{_GAMES}/njam/data/*.xm", f"{_GAMES}/njam/data/*.s3m")),
    Source("solarwolf", (f"{_GAMES}/solarwolf/data/music/*.xm",)),
    Source("bugsquish", (f"{_GAMES}/bugsquish/music/*.mod",)),
    Source("vectoroids", (f"{_GAMES}/vectoroids/music/*.s3m",)),
    Source("criticalmass-data", (f"{_GAMES}/criticalmass/*.xm",)),
    Source("ceferino-data", (f"{_GAMES}/ceferino/music/*.xm",)),
    Source("ballz-data", (f"{_GAMES}/ballz/*.xm",)),
)


def select_sources(names: tuple[str, ...] | None = None) -> tuple[Source, ...]:
    """The sources named (all by default).

    Raises:
        ConfigurationError: a name is not a known source.
    """
    if names is None:
        return SOURCES
    known = {s.package: s for s in SOURCES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigurationError(
            f"Unknown source(s) {', '.join(unknown)}; known: {', '.join(known)}.")
    return tuple(known[n] for n in names)


def package_version(package: str) -> str | None:
    """The installed version of a Debian package, or None when it is not installed."""
    try:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}|${Version}", package],
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    status, _, version = result.stdout.partition("|")
    return version if result.returncode == 0 and "installed" in status.split() else None


def install_command(packages: list[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


def song_name(package: str, path: Path) -> str:
    """``<package>-<file stem>`` with anything but letters, digits, ``-``, ``_`` and ``.``
    replaced."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{package}-{path.stem}")


def split_of(song: str) -> str:
    """``dev``, ``test`` or ``train``, from a hash of the song's name (stable when sources
    change; ``train`` is the same set of songs as when there were only two splits)."""
    bucket = int(hashlib.sha256(song.encode()).hexdigest()[:8], 16) % 100
    if bucket < DEV_PERCENT:
        return "dev"
    return "test" if bucket < TEST_PERCENT else "train"


def song_seed(song: str) -> int:
    """The seed of a song's sound caps, from its name."""
    return int(hashlib.sha256(("caps:" + song).encode()).hexdigest()[:8], 16)
