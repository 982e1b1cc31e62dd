"""criu-inspect diff A B [--match pid|tree] [--pages] [--ignore CAT,...] [--format text|json]
criu-inspect diff --load SAVED.json [--format text|json]

Exit 0 identical, 1 different, 2 error (like diff(1)).
"""

from __future__ import annotations

import argparse
import json
import sys

from ..diff.result import CATEGORIES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Compare two checkpoints: process tree, fds, sockets, locks, VMAs, cgroups, mounts, memory pages."
    p.epilog = "Exit codes: 0 identical, 1 different, 2 error. Ignore categories: " + ", ".join(
        f"{k} ({v})" for k, v in CATEGORIES.items()
    )
    p.add_argument("a", nargs="?", help="checkpoint directory A (the old one)")
    p.add_argument("b", nargs="?", help="checkpoint directory B (the new one)")
    p.add_argument(
        "--match",
        choices=("pid", "tree"),
        default="pid",
        help="pair processes by pid (default) or by position in the tree and comm "
        "(for a tree restored into another pid namespace and dumped again)",
    )
    p.add_argument("--pages", action="store_true", help="print hexdumps of the first differing page ranges")
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="show changed values of environment variables named like secrets (masked by default)",
    )
    p.add_argument(
        "--max-hunks",
        type=int,
        default=16,
        metavar="N",
        help="at most N hexdump hunks in all with --pages (default 16)",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CAT[,CAT]",
        help="leave out a category of differences (repeatable): " + ", ".join(CATEGORIES),
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--load",
        "--from-json",
        dest="load",
        metavar="FILE",
        help="re-render a diff saved with --format json instead of comparing checkpoints",
    )
    p.add_argument("--page-engine", choices=("auto", "numpy", "python"), default="auto", help=argparse.SUPPRESS)


def _ignored(values: list[str]) -> frozenset[str]:
    from ..errors import InspectError

    cats = {c.strip() for v in values for c in v.split(",") if c.strip()}
    unknown = cats - set(CATEGORIES)
    if unknown:
        raise InspectError(
            None, f"unknown --ignore category {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})"
        )
    return frozenset(cats)


def run(args) -> int:
    from ..errors import InspectError

    if args.load:
        result = _load(args.load)
    else:
        if not args.a or not args.b:
            raise InspectError(None, "diff needs two checkpoint directories A and B (or --load FILE)")
        if args.max_hunks < 0:
            raise InspectError(None, "--max-hunks must be 0 or more")
        from ..diff import DiffOptions, diff_checkpoints

        engine = {"auto": None, "numpy": True, "python": False}[args.page_engine]
        options = DiffOptions(
            match=args.match,
            ignore=_ignored(args.ignore),
            max_hunks=args.max_hunks if args.pages else 0,
            use_numpy=engine,
            show_secrets=args.show_secrets,
        )
        result = diff_checkpoints(args.a, args.b, options)
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        from ..report.diff_text import render

        render(result)
    return 0 if result.identical else 1


def _load(path: str):
    from ..diff.result import DiffResult
    from ..errors import InspectError
    from ..safeio import open_regular_file

    try:
        with open_regular_file(path) as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InspectError(path, exc.strerror or str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InspectError(path, f"not JSON: {exc}") from None
    try:
        return DiffResult.from_dict(data)
    except InspectError as exc:
        raise InspectError(path, exc.reason) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise InspectError(path, f"not a criu-inspect diff document: missing or bad field {exc}") from None
