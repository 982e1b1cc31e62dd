"""criu-inspect rule CODE: print the rule's documentation page (see checks/docs.py)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("code", help="rule code, e.g. CRI001")


def run(args: argparse.Namespace) -> int:
    from ..checks.docs import rule_page
    from ..checks.engine import rule_by_code

    rule = rule_by_code(args.code)
    if rule is None:
        sys.stderr.write(f"criu-inspect: error: unknown rule {args.code} (criu-inspect rules lists them)\n")
        return 2
    page = rule_page(rule)
    if page is None:  # every packaged rule has one (tests/checks/test_check_engine.py)
        sys.stderr.write(f"criu-inspect: error: rule {rule.code} has no page\n")
        return 2
    sys.stdout.write(page)
    return 0
