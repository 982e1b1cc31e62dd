"""criu-inspect show DIR [VIEW] [--format text|json]; show A B C... (or a folder of many): one row each."""

from __future__ import annotations

import argparse
import json
import sys

from ..report.views_render import FOCUSED_VIEWS  # inspector/views/, docs/show-views.md

VIEWS = ("all", "ps", "fds", "mems", "mem", "env", "images") + FOCUSED_VIEWS


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = "a checkpoint (e.g. checkpointData), then optionally a view; several, or a folder of many: a row each"
    p.add_argument("paths", nargs="+", metavar="DIR", help=what)
    p.add_argument("--view", choices=VIEWS, default="all", help="what to show (default: header, tree and fds)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--pid", type=int, action="append", help="only these pids (repeatable)")
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="show the values of environment variables named like secrets (masked by default)",
    )


def run(args) -> int:
    from ..model.checkpoint import Checkpoint
    from ..report import show_text
    from ..report.show_json import checkpoint_dict

    paths, view = _paths_and_view(args)
    from ..summary import is_many

    if is_many(paths):
        return _show_many(paths, view, args)
    cp = Checkpoint(paths[0])
    _ = cp.pstree  # a checkpoint without a process tree is not worth showing: raise now
    missing = sorted(set(args.pid or ()) - {p.pid for p in cp.processes})
    if missing:
        from ..errors import InspectError

        have = ", ".join(str(p.pid) for p in cp.processes[:20]) + (", ..." if len(cp.processes) > 20 else "")
        raise InspectError(
            cp.shown_path, f"no process {', '.join(map(str, missing))} in this checkpoint (its pids: {have})"
        )
    cp.image_infos()  # frame every image, so what cannot be read is listed whatever the view
    if view in FOCUSED_VIEWS:  # docs/show-views.md
        from ..report.views_render import emit_view

        emit_view(cp, view, args.format, pids=args.pid)
        return _report_problems(cp)
    if view == "mem":  # the per-process memory-size table (docs/show-mem.md)
        from ..report import show_mem

        if args.format == "json":
            sys.stdout.write(json.dumps(show_mem.mem_dict(cp, args.pid), indent=1) + "\n")
        else:
            from ..report.textout import emit

            emit(show_mem.mem_blocks(cp, args.pid) + show_text.problems_blocks(cp))
        return _report_problems(cp)
    if args.format == "json":
        data = checkpoint_dict(cp, show_secrets=args.show_secrets)
        if args.pid:
            data["processes"] = [p for p in data["processes"] if p["pid"] in args.pid]
        # one write: json.dump's many small writes cost a syscall each on an unbuffered stdout
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
    else:
        show_text.render(cp, view, pids=args.pid, show_secrets=args.show_secrets)
    return _report_problems(cp)


def _paths_and_view(args) -> tuple[list[str], str]:
    """``show DIR ps`` names its view as a last word (crit's habit); ``--view`` still works."""
    import os

    paths = list(args.paths)
    view = args.view
    if len(paths) > 1 and paths[-1] in VIEWS and not os.path.exists(paths[-1]):
        view = paths.pop()
    return paths, view


def _show_many(paths: list[str], view: str, args) -> int:
    """One row of facts per checkpoint (checkpointctl's ``show`` of several); ``scan`` is the one that checks."""
    from ..errors import InspectError
    from ..summary import summary_json, summary_rows

    if view != "all" or args.pid:
        why = "a view or --pid needs one checkpoint (criu-inspect show DIR VIEW)"
        raise InspectError(None, f"show of {len(paths)} paths prints one row per checkpoint: {why}")
    rows = summary_rows(paths)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary_json(rows), indent=1) + "\n")
    else:
        from ..report import summary_text

        summary_text.emit(rows)
    failed = [r for r in rows if r["error"]]
    if not failed:
        return 0
    first = failed[0]["error"]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    sys.stderr.write(
        f"criu-inspect: error: {len(failed)} of {len(rows)} checkpoints could not be read: {first}{more}\n"
    )
    return 2


def _report_problems(cp) -> int:
    if not cp.problems:
        return 0
    from ..errors import one_error_line

    sys.stderr.write(f"criu-inspect: error: {one_error_line([p.one_line() for p in cp.problems], cp.problem_count)}\n")
    return 2
