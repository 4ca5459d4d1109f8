"""The command line: ``loopfind COMMAND`` (installed), or ``python -m loopfind_core COMMAND``.

Commands:
    synth     write a generated benchmark corpus (audio + annotations.csv)
    real-corpus  render tracker modules from Debian packages into a labelled real-music corpus
    evaluate  the paper's protocol with a simulated user, on any dataset folder
    paired    per-sound paired margin of one method over another (two evaluate reports)
    train     train the learned encoder without labels (runs under torchrun too)
    bench     speed and memory of the core on a generated 7.5-minute track
    hunt      find every occurrence of a sound in a track by answering yes/no; export them
    compare   every feature kind judged against a hunt's answers (the app's Compare page)
    discover  the repeated sounds of a track worth hunting, or how well that works on a dataset
    index     extract and store the features of a folder of tracks (incremental, parallel)
    app       start the Streamlit app (needs the ``app`` extra: ``pip install "loopfind[app]"``)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from loopfind_core.base.errors import LoopfindError
from loopfind_core.cli.compare import add_compare_command
from loopfind_core.cli.product import add_product_commands, app_script
from loopfind_core.cli.research import add_research_commands

__all__ = ["app_script", "build_parser", "main", "program_name"]


def program_name() -> str:
    """``loopfind`` as the installed script, ``python -m loopfind_core`` when run that way."""
    return "python -m loopfind_core" if Path(sys.argv[0]).name == "__main__.py" else "loopfind"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Find every occurrence of a sound in a music track.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_research_commands(commands)
    add_product_commands(commands)
    add_compare_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "app":
        args.streamlit_args = rest  # `loopfind app --server.port 8502`, as `./run` takes them
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except LoopfindError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
