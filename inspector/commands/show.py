"""criu-inspect show DIR [--view ...] [--format text|json]"""

from __future__ import annotations

import argparse
import json
import sys

VIEWS = ("all", "ps", "fds", "mems", "mem", "env", "images")
VIEWS += ("net", "mounts", "stats", "sockets")  # focused views: inspector/views/, docs/show-views.md


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="checkpoint directory (e.g. checkpointData)")
    p.add_argument("--view", choices=VIEWS, default="all", help="what to show (default: header, tree and fds)")
    p.add_argument("view_arg", nargs="?", choices=VIEWS, help=argparse.SUPPRESS)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--pid", type=int, action="append", help="only these pids (repeatable)")
    p.add_argument("--show-secrets", action="store_true",
                   help="show the values of environment variables named like secrets (masked by default)")


def run(args) -> int:
    from ..model.checkpoint import Checkpoint
    from ..report import show_text
    from ..report.show_json import checkpoint_dict

    view = args.view_arg or args.view
    cp = Checkpoint(args.dir)
    cp.pstree  # a checkpoint without a process tree is not worth showing: raise now
    missing = sorted(set(args.pid or ()) - {p.pid for p in cp.processes})
    if missing:
        from ..errors import InspectError

        have = ", ".join(str(p.pid) for p in cp.processes[:20]) + (", ..." if len(cp.processes) > 20 else "")
        raise InspectError(cp.shown_path, f"no process {', '.join(map(str, missing))} in this checkpoint "
                                          f"(its pids: {have})")
    cp.image_infos()  # frame every image, so what cannot be read is listed whatever the view
    if view in ("net", "mounts", "stats", "sockets"):  # docs/show-views.md
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


def _report_problems(cp) -> int:
    if not cp.problems:
        return 0
    from ..errors import one_error_line

    sys.stderr.write(f"criu-inspect: error: {one_error_line([p.one_line() for p in cp.problems], cp.problem_count)}\n")
    return 2
