"""Suppressions: accepted findings, each with a reason, kept in the project's config.

``[tool.criu-inspect]`` in ``pyproject.toml`` or the top level of
``.criu-inspect.toml``, found in the current directory or the nearest parent
that has one (or given with ``--config FILE``)::

    [[tool.criu-inspect.suppress]]
    code = "CRI007"
    pid = 123            # optional: only this process
    fd = 1               # optional: only this fd
    checkpoint = "web-*" # optional: only checkpoints whose directory name matches
    reason = "restored with --shell-job by our launcher"

A reason is required: a suppression is a decision someone must be able to
read later. A suppression that matches no finding is reported (stale config
hides nothing, but it misleads the reader).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from ..errors import InspectError
from ..safeio import open_regular_file
from .base import CheckReport, Finding

CONFIG_FILE = ".criu-inspect.toml"
PYPROJECT = "pyproject.toml"
TOOL_KEY = "criu-inspect"
ENTRY_KEYS = {"code", "pid", "fd", "checkpoint", "reason"}


@dataclass(frozen=True)
class Suppression:
    code: str
    reason: str
    pid: int | None = None
    fd: int | None = None
    checkpoint: str | None = None  # fnmatch pattern on the checkpoint directory's name
    source: str = ""  # "FILE: suppress[N]", for messages

    def matches(self, finding: Finding, checkpoint_path: str | None = None) -> bool:
        if finding.code.upper() != self.code:
            return False
        if self.pid is not None and finding.pid != self.pid:
            return False
        if self.fd is not None and finding.fd != self.fd:
            return False
        if self.checkpoint is not None:
            name = os.path.basename(os.path.normpath(checkpoint_path or ""))
            if not fnmatch.fnmatch(name, self.checkpoint):
                return False
        return True

    def describe(self) -> str:
        parts = [self.code]
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.fd is not None:
            parts.append(f"fd {self.fd}")
        if self.checkpoint is not None:
            parts.append(f"checkpoint {self.checkpoint}")
        return " ".join(parts)


@dataclass
class Config:
    """The ``[tool.criu-inspect]`` table (path None: no config found)."""

    path: str | None = None
    table: dict = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)


def find_config(start: str | os.PathLike | None = None) -> str | None:
    """The nearest .criu-inspect.toml, or pyproject.toml with a [tool.criu-inspect] table, from ``start`` upwards."""
    directory = os.path.abspath(os.fspath(start) if start is not None else os.getcwd())
    while True:
        candidate = os.path.join(directory, CONFIG_FILE)
        if os.path.isfile(candidate):
            return candidate
        candidate = os.path.join(directory, PYPROJECT)
        if os.path.isfile(candidate) and _has_tool_table(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _read_toml(path: str) -> dict:
    import tomllib

    try:
        with open_regular_file(path) as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise InspectError(path, exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InspectError(path, f"not valid TOML: {exc}") from None


def _has_tool_table(path: str) -> bool:
    # a pyproject.toml we cannot parse is not ours to complain about unless it names our table
    try:
        with open_regular_file(path) as fh:
            if b"criu-inspect" not in fh.read():
                return False
    except (OSError, InspectError):
        return False
    return isinstance(_read_toml(path).get("tool", {}).get(TOOL_KEY), dict)


def load_config(path: str | os.PathLike | None = None, *, start: str | os.PathLike | None = None) -> Config:
    """Read the config: ``path`` if given (must exist), else the nearest one from ``start`` (cwd)."""
    if path is not None:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise InspectError(path, "config file not found")
    else:
        path = find_config(start)
        if path is None:
            return Config()
    data = _read_toml(path)
    if os.path.basename(path) == PYPROJECT or "tool" in data:
        table = data.get("tool", {}).get(TOOL_KEY)
        if table is None and os.path.basename(path) == PYPROJECT:
            raise InspectError(path, f"no [tool.{TOOL_KEY}] table")
        table = table if table is not None else {}
    else:
        table = data
    if not isinstance(table, dict):
        raise InspectError(path, f"[tool.{TOOL_KEY}] must be a table")
    return Config(path, table, _parse_suppressions(path, table.get("suppress", [])))


def _parse_suppressions(path: str, entries) -> list[Suppression]:
    if not isinstance(entries, list):
        raise InspectError(path, "suppress must be an array of tables ([[tool.criu-inspect.suppress]])")
    out = []
    for i, entry in enumerate(entries):
        where = f"suppress[{i}]"
        if not isinstance(entry, dict):
            raise InspectError(path, f"{where} must be a table")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise InspectError(
                path, f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(ENTRY_KEYS))})"
            )
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            raise InspectError(path, f'{where}: code is required (e.g. code = "CRI007")')
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InspectError(path, f'{where} ({code}): a reason is required (reason = "why this is accepted")')
        for key in ("pid", "fd"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise InspectError(path, f"{where} ({code}): {key} must be a non-negative integer")
        ckpt = entry.get("checkpoint")
        if ckpt is not None and not isinstance(ckpt, str):
            raise InspectError(path, f"{where} ({code}): checkpoint must be a string (a glob on the directory name)")
        out.append(
            Suppression(
                code.strip().upper(), reason.strip(), entry.get("pid"), entry.get("fd"), ckpt, f"{path}: {where}"
            )
        )
    return out


def apply_suppressions(report: CheckReport, suppressions: list[Suppression]) -> list[str]:
    """Move suppressed findings to ``report.suppressed``; return (and add to the report) a
    warning for each suppression that matched nothing."""
    used: set[int] = set()
    kept: list[Finding] = []
    for finding in report.findings:
        hit = next((i for i, s in enumerate(suppressions) if s.matches(finding, report.checkpoint)), None)
        if hit is None:
            kept.append(finding)
        else:
            used.add(hit)
            report.suppressed.append((finding, suppressions[hit].reason))
    report.findings = kept
    ran = {r.code for r in report.rules}
    warnings = []
    for i, s in enumerate(suppressions):
        if i in used:
            continue
        if s.checkpoint is not None and not fnmatch.fnmatch(
            os.path.basename(os.path.normpath(report.checkpoint)), s.checkpoint
        ):
            continue  # scoped to other checkpoints: not stale, just not about this one
        why = "" if s.code in ran else f" (rule {s.code} did not run)"
        warnings.append(f"{s.source}: suppression {s.describe()} matches no finding{why}; remove it if it is stale")
    report.warnings.extend(warnings)
    return warnings
