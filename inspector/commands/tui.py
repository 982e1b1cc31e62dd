"""criu-inspect tui DIR [DIR_B]: browse a checkpoint, or two side by side (diff mode).

Textual is imported only here, inside run(): every other command starts
without it, and a build without the ``tui`` extra says so in one line.
"""

from __future__ import annotations

import argparse
import sys

NO_TEXTUAL = (
    "criu-inspect: error: the TUI needs Textual, which is not installed "
    "(pip install 'criu-inspect[tui]' or pip install textual)\n"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .target_args import add_target_arguments

    p.add_argument("dir", help="checkpoint directory")
    p.add_argument("dir_b", nargs="?", help="a second checkpoint: diff mode, marks what changed from DIR to DIR_B")
    add_target_arguments(p)  # the findings are those `criu-inspect check` reports for the same flags
    p.add_argument("--allow-uprobes", action="store_true", help="criu restore --allow-uprobes")
    g = p.add_argument_group("diff mode (as criu-inspect diff)")
    g.add_argument(
        "--match",
        choices=("pid", "tree"),
        default="pid",
        help="pair processes by pid (default) or by position in the tree and comm",
    )
    g.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CAT[,CAT]",
        help="leave out a category of differences (positions, registers, pages, ...)",
    )


def run(args: argparse.Namespace) -> int:
    from ..model.checkpoint import Checkpoint

    # bad input: one line and exit 2 before the screen is taken over
    for path in filter(None, (args.dir, args.dir_b)):
        _ = Checkpoint(path).pstree
    if not args.dir_b and (args.match != "pid" or args.ignore):
        sys.stderr.write("criu-inspect: error: --match and --ignore need a second checkpoint (diff mode)\n")
        return 2
    try:
        import textual  # noqa: F401
    except ImportError:
        sys.stderr.write(NO_TEXTUAL)
        return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.stderr.write("criu-inspect: error: tui needs a terminal (use `criu-inspect show` in pipes)\n")
        return 2
    from tui.app import run_app

    from .check import target_of

    diff_options = None
    if args.dir_b:
        from ..diff import DiffOptions
        from .diff import _ignored

        diff_options = DiffOptions(match=args.match, ignore=_ignored(args.ignore))
    return run_app(args.dir, args.dir_b, target_of(args), diff_options)
