"""Discover the rules and run them against a checkpoint for one target.

Rules are the modules of ``inspector/checks/rules/``: each defines
``RULE = Rule(...)``; adding a rule means adding a module, nothing else.
A rule that meets a broken image (``InspectError``) becomes a problem in the
report, so one bad image does not hide what the other rules found.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import pkgutil
from collections.abc import Iterable

from ..errors import InspectError
from .base import ASSUMED_NONROOT_UID, SEVERITIES, SEVERITY_RANK, CheckReport, Finding, Rule, Target
from .facts import dumped_uid

RULES_PACKAGE = "inspector.checks.rules"


@functools.lru_cache(maxsize=1)
def _discover() -> tuple[Rule, ...]:
    package = importlib.import_module(RULES_PACKAGE)
    found: dict[str, Rule] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{RULES_PACKAGE}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            continue
        if rule.code in found:
            raise RuntimeError(f"rule code {rule.code} defined twice ({info.name})")
        if rule.severity not in SEVERITIES:
            raise RuntimeError(f"rule {rule.code}: unknown severity {rule.severity!r}")
        found[rule.code] = rule
    return tuple(sorted(found.values(), key=lambda r: r.code))


def all_rules(*, include_host: bool = True) -> list[Rule]:
    """Every rule, by code; ``include_host=False`` leaves out those needing the restoring host."""
    return [r for r in _discover() if include_host or not r.host]


def rule_by_code(code: str) -> Rule | None:
    code = code.strip().upper()
    return next((r for r in _discover() if r.code == code), None)


def _matches(code: str, patterns: Iterable[str]) -> bool:
    # ruff-style: "CRI0" selects CRI001..CRI009; "ALL" selects everything
    return any(p == "ALL" or code.startswith(p) for p in patterns)


def _normalize_codes(codes) -> list[str] | None:
    if codes is None:
        return None
    if isinstance(codes, str):
        codes = codes.split(",")
    return [c.strip().upper() for c in codes if c and c.strip()]


def code_selected(code: str, select=None, ignore=None) -> bool:
    """Whether ``--select``/``--ignore`` leave the rule ``code`` in (known without importing any rule)."""
    select, ignore = _normalize_codes(select), _normalize_codes(ignore)
    return (not select or _matches(code, select)) and not (ignore and _matches(code, ignore))


def selected_rules(select=None, ignore=None, include_host: bool = False) -> list[Rule]:
    return [r for r in all_rules(include_host=include_host) if code_selected(r.code, select, ignore)]


def run_checks(
    checkpoint,
    target: Target | None = None,
    *,
    select=None,
    ignore=None,
    fail_on: str = "error",
    include_host: bool = False,
) -> CheckReport:
    """Run the selected rules; ``checkpoint`` is a Checkpoint or a directory path."""
    from ..model.checkpoint import Checkpoint

    if fail_on not in SEVERITY_RANK and fail_on != "never":
        raise ValueError(f"fail_on must be one of {', '.join(SEVERITIES)} or never")
    target = target or Target()
    if include_host and not target.on_this_host:
        target = dataclasses.replace(target, on_this_host=True)
    cp = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint(checkpoint)
    _ = cp.pstree  # no process tree: nothing to check, the check cannot run (raises InspectError)
    rules = selected_rules(select, ignore, include_host)
    findings: list[Finding] = []
    problems: list[str] = []
    broken: dict[str, tuple[str, list[str]]] = {}  # file -> (its first error, the rules it stopped)
    assumed_uid = None
    if not target.privileged and target.uid is None:
        try:
            assumed_uid = ASSUMED_NONROOT_UID if dumped_uid(cp) == 0 else None
        except InspectError:
            pass  # the rules that need the root task's creds report it

    for rule in rules:
        try:
            findings.extend(rule.check(cp, target))
        except InspectError as exc:  # one cause, one line: the rules that met one broken file say it once
            broken.setdefault(exc.path or exc.one_line(), (exc.one_line(), []))[1].append(rule.code)
        except Exception as exc:  # an image shape no rule foresaw: the other rules still report
            if os.environ.get("CRIU_INSPECT_DEBUG"):
                raise
            problems.append(f"{cp.shown_path}: internal error in rule {rule.code}: {type(exc).__name__}: {exc}")
    for problem in cp.problems:
        broken.setdefault(problem.path or problem.one_line(), (problem.one_line(), []))
    for line, codes in broken.values():
        problems.append(f"{line} ({', '.join(codes)} could not run)" if codes else line)
    findings.sort(key=_finding_order)
    return CheckReport(
        checkpoint=cp.shown_path,
        target=target,
        findings=findings,
        rules=rules,
        problems=problems,
        fail_on=fail_on,
        assumed_uid=assumed_uid,
    )


def _finding_order(f: Finding):
    return (-SEVERITY_RANK[f.severity], f.code, f.pid if f.pid is not None else -1, f.fd if f.fd is not None else -1)
