"""criu-inspect export PATH... --to DIR [--format csv|parquet|jsonl] [target options]

Writes one file per table (processes, threads, fds, vmas, sockets, mounts, findings; docs/tables.md),
the rows of every checkpoint given, each with its ``checkpoint`` column, plus ``scan`` (one row per
checkpoint, as ``scan`` makes it). DIR is created; files are written atomically.
"""

from __future__ import annotations

import argparse
import os

FORMATS = ("csv", "parquet", "jsonl")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .target_args import add_target_arguments

    p.add_argument("paths", nargs="+", metavar="PATH", help="checkpoints (directories, archives, folders of many)")
    p.add_argument("--to", required=True, metavar="DIR", help="folder to write the tables into (created)")
    p.add_argument("--format", choices=FORMATS, default="csv")
    add_target_arguments(p, multiple=True)


def run(args) -> int:
    import pandas as pd

    from .. import scan, tables
    from ..checks.targets import target_from_args
    from ..errors import InspectError

    kinds = list(dict.fromkeys(args.target or scan.DEFAULT_TARGETS))
    targets = scan.targets_named(kinds, target_from_args(argparse.Namespace(**{**vars(args), "target": kinds[0]})))
    try:
        os.makedirs(args.to, exist_ok=True)
    except OSError as exc:
        raise InspectError(args.to, f"cannot create: {exc.strerror or exc}") from None
    parts: dict[str, list] = {t: [] for t in tables.CHECKPOINT_TABLES}
    rows = []
    for path in scan.find_checkpoints(args.paths):

        def add_tables(cp, reports, path=path):  # one read of the checkpoint serves its row and its tables
            for name, df in tables.checkpoint_tables(cp, reports, name=path).items():
                parts[name].append(df)

        rows.append(scan.scan_one(path, targets, with_checkpoint=add_tables))  # a damaged one: its row says why
    frames = {
        name: (pd.concat(dfs, ignore_index=True) if dfs else tables.frame([], tables.SCHEMAS[name]))
        for name, dfs in parts.items()
    }
    frames["scan"] = tables.scan_frame(sorted(rows, key=lambda r: r["path"]), kinds)
    for name, df in frames.items():
        _write(df, os.path.join(args.to, f"{name}.{args.format}"), args.format)
    return 1 if any(r["error"] for r in rows) else 0


def _write(df, path: str, fmt: str) -> None:
    from ..safeio import write_atomic

    if fmt == "csv":
        write_atomic(path, lambda fh: fh.write(df.to_csv(index=False).encode()))
    elif fmt == "jsonl":
        write_atomic(path, lambda fh: fh.write(df.to_json(orient="records", lines=True, date_format="iso").encode()))
    else:
        write_atomic(path, lambda fh: df.to_parquet(fh, index=False))
