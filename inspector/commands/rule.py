"""criu-inspect rule CODE: print the rule's documentation page (docs/rules/CODE.md)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("code", help="rule code, e.g. CRI001")


def run(args) -> int:
    from ..checks.docs import rule_doc
    from ..checks.engine import rule_by_code

    rule = rule_by_code(args.code)
    if rule is None:
        sys.stderr.write(f"criu-inspect: error: unknown rule {args.code} (criu-inspect rules lists them)\n")
        return 2
    sys.stdout.write(rule_doc(rule))
    return 0
