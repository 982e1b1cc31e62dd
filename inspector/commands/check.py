"""criu-inspect check DIR [target options] [--format ...] [--fail-on ...] [--select/--ignore CODES] [--host]

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 the check could not run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

FORMATS = ("text", "json", "sarif", "junit")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .target_args import add_target_arguments

    p.add_argument("dir", help="checkpoint directory")
    add_target_arguments(p)
    p.add_argument("--allow-uprobes", action="store_true", help="criu restore --allow-uprobes")
    g = p.add_argument_group("output and gate")
    g.add_argument("--format", choices=FORMATS, default="text")
    g.add_argument(
        "--fail-on",
        choices=("error", "warning", "info", "never"),
        default="error",
        help="lowest severity that makes the exit code 1 (default: error; never: report only, exit 0 "
        "unless the check could not run)",
    )
    g.add_argument("--select", metavar="CODE,..", help="run only these rules (codes or prefixes, e.g. CRI00)")
    g.add_argument("--ignore", metavar="CODE,..", help="skip these rules (codes or prefixes)")
    g.add_argument("--host", action="store_true", help="also run the checks that need this (the restoring) machine")
    g.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    g.add_argument(
        "--max-per-rule",
        type=int,
        metavar="N",
        help="text output: show at most N entries per rule (findings about files of one directory "
        "are one entry already); the JSON, SARIF and JUnit outputs keep every finding",
    )
    g.add_argument(
        "--config",
        metavar="FILE",
        help="suppressions file (default: the nearest .criu-inspect.toml, or pyproject.toml with "
        "[tool.criu-inspect], from the current directory upwards)",
    )


def target_of(args):
    from ..checks.targets import target_from_args

    target = target_from_args(args)
    if getattr(args, "allow_uprobes", False):
        target = dataclasses.replace(target, allow_uprobes=True)
    return target


def _check_codes(option: str, value: str | None) -> None:
    """--select/--ignore must name rules that exist: a typo would silently check nothing."""
    from ..checks.engine import all_rules
    from ..errors import InspectError

    if not value:
        return
    codes = [r.code for r in all_rules()]
    for pattern in (p.strip().upper() for p in value.split(",") if p.strip()):
        if pattern != "ALL" and not any(c.startswith(pattern) for c in codes):
            raise InspectError(None, f"{option} {pattern}: no such rule (criu-inspect rules lists them)")


def run(args) -> int:
    from .. import scanner, secrets
    from ..checks.engine import code_selected
    from ..checks.rules.secrets_in_memory import RULE as SECRETS_RULE

    # the memory scan dwarfs every other rule: it starts now, and the imports and the other rules overlap it
    if code_selected(SECRETS_RULE.code, args.select, args.ignore) and os.path.isdir(args.dir):
        secrets.prefetch(args.dir)
    try:
        return _run(args)
    finally:
        scanner.end_prefetch()


def _run(args) -> int:
    from ..checks.engine import run_checks
    from ..checks.suppress import apply_suppressions, load_config
    from ..report.check_render import render

    _check_codes("--select", args.select)
    _check_codes("--ignore", args.ignore)
    config = load_config(args.config)  # a broken config stops here, before any work

    report = run_checks(
        args.dir,
        target_of(args),
        select=args.select,
        ignore=args.ignore,
        fail_on=args.fail_on,
        include_host=args.host,
    )
    apply_suppressions(report, config.suppressions)
    report.max_per_rule = args.max_per_rule
    if args.output:
        from ..safeio import write_atomic

        write_atomic(args.output, lambda stream: render(report, args.format, stream), text=True)
    else:
        render(report, args.format, sys.stdout)
    for w in report.warnings:
        sys.stderr.write(f"criu-inspect: warning: {w}\n")
    if report.problems:
        from ..errors import one_error_line

        sys.stderr.write(f"criu-inspect: error: {one_error_line(report.problems)}\n")
        return 2  # a fact the rules needed could not be read: no verdict to trust, whatever was found
    return 1 if report.failed else 0
