"""CheckReport -> JSON (stable: fields are added, never renamed; docs/json.md lists them)."""

from __future__ import annotations

import json

from ..checks.base import CheckReport, Finding, Target

CHECK_JSON_VERSION = 1


def target_dict(t: Target) -> dict:
    return {
        "kind": t.kind,
        "uid": t.uid,
        "gid": t.gid,
        "caps": sorted(t.caps),
        "terminal": t.terminal,
        "shell_job": t.shell_job,
        "file_locks": t.file_locks,
        "tcp_established": t.tcp_established,
        "tcp_close": t.tcp_close,
        "ext_unix_sk": t.ext_unix_sk,
        "manage_cgroups": t.manage_cgroups,
        "inherit_fds": list(t.inherit_fds),
        "externals": list(getattr(t, "externals", ())),
        "cgroup_yard": getattr(t, "cgroup_yard", None),
        "allow_uprobes": getattr(t, "allow_uprobes", False),
        "criu": t.criu,
        "on_this_host": t.on_this_host,
    }


def finding_dict(f: Finding) -> dict:
    out: dict[str, object] = {
        "code": f.code,
        "category": f.category,
        "severity": f.severity,
        "title": f.title,
        "pid": f.pid,
        "fd": f.fd,
        "message": f.message,
        "fix": f.fix,
        "criu_error": f.criu_error or None,
        "image": f.image,
    }
    if f.vma_start is not None:
        out["vma_start"] = f.vma_start
    if f.details:
        out["details"] = f.details
    return out


def report_dict(report: CheckReport) -> dict:
    counts = {s: 0 for s in ("error", "warning", "info")}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {
        "version": CHECK_JSON_VERSION,
        "checkpoint": report.checkpoint,
        "verdict": report.verdict,
        "fail_on": report.fail_on,
        "failed": report.failed,
        "target": target_dict(report.target),
        "assumed_uid": report.assumed_uid,
        "counts": counts,
        "findings": [finding_dict(f) for f in report.findings],
        "suppressed": [dict(finding_dict(f), reason=reason) for f, reason in report.suppressed],
        "problems": list(report.problems),
        "warnings": list(getattr(report, "warnings", [])),
        "rules": [r.code for r in report.rules],
    }


def render(report: CheckReport, stream) -> None:
    json.dump(report_dict(report), stream, indent=1)
    stream.write("\n")
