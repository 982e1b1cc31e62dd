"""Where a rule's page lives: inspector/docs/rules/CODE.md (shipped in the package; docs/rules links to it)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"
REPO_DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "rules"


def doc_path(code: str) -> Path | None:
    for base in (PACKAGE_DOCS, REPO_DOCS):
        path = base / f"{code}.md"
        if path.is_file():
            return path
    return None


def rule_doc(rule) -> str:
    """The page, or one made from the rule's own fields when the page is missing."""
    path = doc_path(rule.code)
    if path is not None:
        return path.read_text(encoding="utf-8")
    return (
        f"# {rule.code}: {rule.title}\n\ncategory: {rule.category}; default severity: {rule.severity}\n\n"
        f"## What it does / why it matters\n\n{rule.rationale}\n\n"
        + (f"criu says: `{rule.criu_error}`\n\n" if rule.criu_error else "")
        + f"## How to fix\n\n{rule.fix}\n"
    )
