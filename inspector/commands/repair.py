"""criu-inspect repair DIR -o OUT --fix NAME[=ARG] ... [--dry-run] [--force] [--link]

Writes a corrected copy of a checkpoint (never into DIR), prints every change,
then runs the checker on the input and the output and shows what the repair
removed. Exit 0: written (and the output is not blocked for the target);
1: written but the checker still finds blockers (or error findings vanished
that no applied fix addresses); 2: refused or an error.
"""

from __future__ import annotations

import argparse

from ..errors import InspectError


def _fix_spec(text: str):
    from ..repair.plan import parse_fix_spec

    try:
        return parse_fix_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..repair import fixes

    p.add_argument("dir", nargs="?", help="checkpoint directory to repair (only read)")
    p.add_argument("-o", "--output", metavar="OUT", help="where to write the repaired copy (a new directory)")
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        type=_fix_spec,
        metavar="NAME[=ARG]",
        help="a fix to apply (repeatable): " + ", ".join(fixes.names()) + "; see --list",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument(
        "--link",
        action="store_true",
        help="hard-link unchanged pages files instead of copying them (a chown of OUT then changes DIR)",
    )
    p.add_argument("--copy", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    p.add_argument("--no-check", action="store_true", help="do not run the checker on input and output")
    p.add_argument("--list", action="store_true", help="list the fixes and exit")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (json: docs/repair.md)")
    from .target_args import add_target_arguments

    add_target_arguments(p)


def run(args) -> int:
    from ..repair.plan import FixRefused, check_requests, plan_repair

    if args.list:
        return _list()
    if not args.dir:
        raise InspectError(None, "repair needs a checkpoint directory: criu-inspect repair DIR -o OUT --fix NAME")
    if not args.output and not args.dry_run:
        raise InspectError(args.dir, "repair needs -o OUT (a new directory), or --dry-run")
    try:
        check_requests(args.fix)
    except ValueError as exc:
        raise InspectError(None, str(exc)) from None
    if args.output and not args.dry_run:
        from ..repair.writer import check_output_path

        check_output_path(args.dir, args.output, args.force)  # refuse early, before any work
    try:
        ws = plan_repair(args.dir, args.fix)
    except FixRefused as exc:
        raise InspectError(args.dir, f"fix {exc.fix} refused: {exc.reason}; nothing was written") from None
    try:
        return _write_and_report(args, ws)
    finally:
        ws.close()


def _write_and_report(args, ws) -> int:
    import os
    import sys

    from ..report import repair_json, repair_text

    blocks = repair_text.plan_blocks(ws, args.fix, args.output, args.dry_run)
    result = delta = target = None
    code = 0
    if args.dry_run:
        if args.output and os.path.lexists(args.output) and not args.force:
            blocks.append(f"note: {args.output} exists: the real run needs --force to replace it")
    else:
        from ..repair.writer import write_output

        result = write_output(ws, args.output, force=args.force, link=args.link and not args.copy)
        blocks += repair_text.written_blocks(result)
        if not args.no_check:
            from ..checks.targets import target_from_args
            from ..repair.compare import check_delta, target_for

            target = target_for(target_from_args(args), ws.target_hints)
            from ..repair import fixes

            addressed = {code for req in args.fix for code in fixes.get(req.name).addresses}
            delta = check_delta(args.dir, args.output, target, addressed, memory_changed=bool(ws.pages_patches))
            blocks += repair_text.delta_blocks(delta, target)
            unverified = [f for f in delta.unaddressed if f.severity == "error"]
            if delta.after_verdict != "restorable" or unverified:
                code = 1
    if args.format == "json":
        repair_json.render(
            repair_json.repair_dict(ws, args.fix, args.output, args.dry_run, result, delta, target), sys.stdout
        )
    else:
        repair_text.render(blocks)
    return code


def _list() -> int:
    from ..repair import fixes
    from ..report.textout import Table, emit

    t = Table(["fix", "argument", "what it does"], title="repair fixes (docs/fixes/NAME.md)")
    for fix in fixes.all_fixes():
        arg = "" if fix.arg is None else (fix.arg if fix.arg_required else f"[={fix.arg}]")
        t.add(fix.name, arg, fix.summary)
    emit([t])
    return 0
