"""criu-inspect scan PATH... [target options] [--target T]... [--format table|json|csv|parquet] [-o FILE]

Exit codes: 0 every checkpoint restorable for every target, 1 any blocked, unknown or unreadable
(a fleet-wide CI gate), 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

FORMATS = ("table", "json", "csv", "parquet")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .target_args import add_target_arguments

    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a checkpoint (directory or archive), a folder of many (walked), or an fsspec URL "
        "(file://, http(s)://, s3:// with s3fs; a URL ending in / is a folder)",
    )
    add_target_arguments(p, multiple=True)
    g = p.add_argument_group("scan")
    g.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="local worker processes (default: one per core; 1: in this process)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run each checkpoint as a task on this Dask distributed scheduler (tcp://host:8786)",
    )
    g.add_argument("--format", choices=FORMATS, default="table")
    g.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (atomically) instead of stdout; parquet needs it"
    )
    g.add_argument(
        "--since",
        metavar="FILE",
        help="an earlier scan (.parquet, .csv or .json): say what is new, removed, and whose verdict changed",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args) -> int:
    from .. import scan
    from ..checks.targets import target_from_args
    from ..errors import InspectError

    kinds = list(dict.fromkeys(args.target or scan.DEFAULT_TARGETS))
    like = target_from_args(argparse.Namespace(**{**vars(args), "target": kinds[0]}))
    targets = scan.targets_named(kinds, like)
    if args.format == "parquet" and not args.output:
        raise InspectError(None, "--format parquet writes a file: give -o FILE.parquet")
    if args.workers < 0:
        raise InspectError(None, "--workers must be 0 (one per core) or more")
    old = _load_since(args.since) if args.since else None
    paths = scan.find_checkpoints(args.paths)
    with _Progress(len(paths), enabled=not args.no_progress and sys.stderr.isatty()) as progress:
        rows = scan.scan(paths, targets, workers=args.workers, scheduler=args.scheduler, on_row=progress.advance)
    since = scan.compare(old, rows) if old is not None else None
    _write(args, rows, kinds, since)
    return 1 if any(scan.blocked(r) for r in rows) else 0


def _load_since(path: str) -> list[dict]:
    import json

    from ..errors import InspectError
    from ..safeio import open_regular_file

    if path.endswith(".json"):
        try:
            with open_regular_file(path) as fh:
                data = json.load(fh)
            return data["rows"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InspectError(path, f"not a criu-inspect scan JSON: {exc}") from None
    from .. import tables

    open_regular_file(path).close()  # one line for a missing or special file, before pandas' own errors
    import pandas as pd

    try:
        df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    except Exception as exc:  # pyarrow's and pandas' parse errors
        raise InspectError(path, f"cannot read an earlier scan: {type(exc).__name__}: {exc}") from None
    if "path" not in df.columns:
        raise InspectError(path, "not a criu-inspect scan table (no path column)")
    return tables.scan_rows(df)[0]


def _write(args, rows: list[dict], kinds: list[str], since: dict | None) -> None:
    from .. import scan

    if args.format == "json":
        import json

        text = json.dumps(scan.scan_json(rows, kinds, since), indent=1) + "\n"
        _emit_text(args.output, text)
    elif args.format in ("csv", "parquet"):
        from .. import tables

        df = tables.scan_frame(rows, kinds)
        if args.format == "csv":
            _emit_text(args.output, df.to_csv(index=False))
        else:
            from ..safeio import write_atomic

            write_atomic(args.output, lambda fh: df.to_parquet(fh, index=False))
    else:
        from ..report import scan_text

        text = scan_text.render(rows, kinds, since)
        if args.output:
            _emit_text(args.output, text)
        else:
            scan_text.emit(rows, kinds, since)


def _emit_text(output: str | None, text: str) -> None:
    from ..safeio import write_atomic

    if output:
        write_atomic(output, lambda fh: fh.write(text.encode()))
    else:
        sys.stdout.write(text)


class _Progress:
    """A rich progress bar on stderr while a scan runs (only on a terminal)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self._running: tuple[Progress, TaskID] | None = None  # the bar and its task, while shown

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            bar = Progress(
                "scan",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.__enter__()
            self._running = bar, bar.add_task("scan", total=self.total)
        return self

    def advance(self, row: dict) -> None:
        if self._running is not None:
            bar, task = self._running
            bar.advance(task)

    def __exit__(self, *exc):
        if self._running is not None:
            self._running[0].__exit__(*exc)
        return False
