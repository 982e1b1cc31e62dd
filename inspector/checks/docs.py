"""A rule's documentation page, made the way ruff makes its rule docs: from the rule itself.

The facts and short texts reports print are written once, in the module's ``Rule(...)``: title,
category, severity, rationale, fix, criu_error. The long form (what the rule looks at, why it matters,
how to fix it, the CRIU source it follows, an example) is the template
``inspector/checks/rules/docs/CODE.md``, shipped in the wheel, which shows those fields through
``{{field}}`` markers instead of repeating them. ``criu-inspect rule CODE`` and SARIF's
``help.markdown`` print the filled template; ``docs/rules/CODE.md`` are the same pages rendered for
the repository (``python -m inspector.checks.docs`` writes them; a test keeps them in step).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .base import Rule

TEMPLATES = Path(__file__).resolve().parent / "rules" / "docs"
REPO_PAGES = Path(__file__).resolve().parent.parent.parent / "docs" / "rules"
MARKER = re.compile(r"\{\{(\w+)\}\}")


def template_path(code: str) -> Path:
    return TEMPLATES / f"{code}.md"


def fix_sentence(fix: str) -> str:
    """The one-line fix hint of a finding as the opening sentence of the page's "How to fix"."""
    return fix[:1].upper() + fix[1:] + ("" if fix.endswith(".") else ".")


def fill(template: str, rule: Rule) -> str:
    """The template with each ``{{field}}`` marker replaced by the rule's field (an unknown one raises KeyError)."""
    fields = {
        "title": rule.title,
        "category": rule.category,
        "severity": rule.severity,
        "rationale": rule.rationale,
        "fix": fix_sentence(rule.fix),
        "criu_error": rule.criu_error or "",
    }
    return MARKER.sub(lambda m: fields[m.group(1)], template)


def rule_page(rule: Rule) -> str | None:
    """The rule's page, or None for a rule without a template (rules built outside the package, in tests)."""
    try:
        template = template_path(rule.code).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return fill(template, rule)


def repo_page(rule: Rule) -> str | None:
    """What ``docs/rules/CODE.md`` must hold: a note saying where to edit, then the page."""
    page = rule_page(rule)
    if page is None:
        return None
    note = (
        f"<!-- Generated from inspector/checks/rules/docs/{rule.code}.md and the rule's Rule(...) fields: "
        "edit those, then run python -m inspector.checks.docs -->\n"
    )
    return note + page


def write_repo_pages(directory: Path = REPO_PAGES) -> list[Path]:
    """Render every rule's page into ``directory``; returns the files that changed."""
    from ..safeio import write_atomic
    from .engine import all_rules

    changed = []
    for rule in all_rules():
        page = repo_page(rule)
        if page is None:
            continue
        path = directory / f"{rule.code}.md"
        if not path.is_file() or path.read_text(encoding="utf-8") != page:
            write_atomic(str(path), lambda fh, page=page: fh.write(page.encode("utf-8")))
            changed.append(path)
    return changed


if __name__ == "__main__":
    for written in write_repo_pages(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_PAGES):
        print(written)
