"""criu-inspect rules: the rule table (code, severity, category, title)."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from ..checks.engine import all_rules
    from ..report.textout import Table, emit

    rules = all_rules()
    if args.format == "json":
        json.dump(
            [
                {"code": r.code, "severity": r.severity, "category": r.category, "title": r.title, "host": r.host}
                for r in rules
            ],
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
        return 0
    table = Table(["code", "severity", "category", "title"])
    for r in rules:
        table.add(r.code, r.severity, r.category, r.title + (" (--host)" if r.host else ""))
    emit([table])
    return 0
