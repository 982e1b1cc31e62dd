"""CheckReport -> text for people: grouped by severity, what each finding concerns, why, the fix."""

from __future__ import annotations

import textwrap

from ..checks.base import CheckReport, Finding
from ..textfmt import counted

_ORDER = ("error", "warning", "info")
_WIDTH = 100
_INDENT = " " * 7


def _wrap(text: str, first: str = _INDENT, rest: str = _INDENT) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False) or [first]


def finding_lines(f: Finding) -> list[str]:
    lines = [f"{f.severity:<6} {f.code}  {f.title}"]
    lines += _wrap(f.message)
    if f.criu_error:
        lines += _wrap(f'(criu: "{f.criu_error}")')
    fix_lines = _wrap(f.fix, first=_INDENT + "fix: ", rest=_INDENT + "     ")
    lines += fix_lines
    return lines


def target_line(report: CheckReport) -> str:
    t = report.target
    if t.privileged:
        who = "root"
    elif report.assumed_uid is not None:
        who = (
            f"unprivileged (uid {report.assumed_uid} assumed: the tree ran as root and no --uid was given; "
            "pass --uid for the user who will restore it)"
        )
    elif t.container_root:
        who = "unprivileged (uid 0: a container's root, with the default container capabilities)"
    else:
        who = f"unprivileged (uid {t.uid if t.uid is not None else 'as dumped'})"
    opts = [
        name
        for name, on in (
            ("--shell-job", t.shell_job),
            ("--file-locks", t.file_locks),
            ("--tcp-established", t.tcp_established),
            ("--tcp-close", t.tcp_close),
            ("--ext-unix-sk", t.ext_unix_sk),
            ("--allow-uprobes", getattr(t, "allow_uprobes", False)),
        )
        if on
    ]
    if t.manage_cgroups:
        opts.append(f"--manage-cgroups={t.manage_cgroups}")
    opts += [f"--inherit-fd {spec}" for spec in t.inherit_fds]
    opts += [f"--external {spec}" for spec in getattr(t, "externals", ())]
    if getattr(t, "cgroup_yard", None):
        opts.append(f"--cgroup-yard {t.cgroup_yard}")
    caps = f", caps {','.join(sorted(t.caps))}" if t.caps and not t.privileged else ""
    term = "on a terminal" if t.terminal else "no terminal"
    return f"target: {who}{caps}, {term}" + (f", criu restore {' '.join(opts)}" if opts else "")


GROUP_MIN = 3  # findings of one rule about files of one directory: shown as one entry from this many on


def grouped(findings: list[Finding]) -> list[list[Finding]]:
    """Findings in order, those of one rule and severity about paths in one directory gathered (a cache
    directory's hundred missing files are one thing to fix, not a hundred)."""
    import os

    by_key: dict[tuple, list[Finding]] = {}
    order: list[tuple] = []
    for f in findings:
        path = f.details.get("path")
        key = (f.code, f.severity, os.path.dirname(path)) if isinstance(path, str) and "/" in path else (id(f),)
        if key not in by_key:
            by_key[key] = []
            order.append(key)
        by_key[key].append(f)
    out = []
    for key in order:
        group = by_key[key]
        out += [group] if len(group) >= GROUP_MIN else [[f] for f in group]
    return out


def group_lines(group: list[Finding]) -> list[str]:
    import os

    if len(group) == 1:
        return finding_lines(group[0])
    first = group[0]
    where = os.path.dirname(first.details["path"])
    files = list(dict.fromkeys(os.path.basename(f.details["path"]) for f in group))
    pids = list(dict.fromkeys(f.pid for f in group if f.pid is not None))
    shown = ", ".join(files[:6]) + (", ..." if len(files) > 6 else "")
    lines = [f"{first.severity:<6} {first.code}  {first.title}"]
    lines += _wrap(
        f"{len(group)} findings: {counted(len(files), 'file')} under {where}, {counted(len(pids), 'process')}"
    )
    lines += _wrap(first.message)
    lines += _wrap(f"... the same for {shown} (pids {', '.join(map(str, pids[:8]))}{', ...' if len(pids) > 8 else ''})")
    if first.criu_error:
        lines += _wrap(f'(criu: "{first.criu_error}")')
    lines += _wrap(first.fix, first=_INDENT + "fix: ", rest=_INDENT + "     ")
    return lines


def render(report: CheckReport, stream) -> None:
    out = [f"{report.checkpoint}: {report.verdict}", target_line(report), ""]
    limit = report.max_per_rule
    shown: dict[str, int] = {}
    left_out: dict[str, int] = {}
    for severity in _ORDER:
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        out.append(f"{severity.upper()}S ({len(group)})" if severity != "info" else f"INFO ({len(group)})")
        for entry in grouped(group):
            code = entry[0].code
            if limit is not None and shown.get(code, 0) >= limit:
                left_out[code] = left_out.get(code, 0) + len(entry)
                continue
            shown[code] = shown.get(code, 0) + 1
            out += group_lines(entry)
            out.append("")
    for code, n in left_out.items():
        out.append(f"... {n} more {code} finding(s) not shown (--max-per-rule {limit}; --format json lists all)")
    if left_out:
        out.append("")
    for f, reason in report.suppressed:
        out.append(f"suppressed {f.code} ({f.severity}): {reason}")
    if report.suppressed:
        out.append("")
    for p in report.problems:
        out.append(f"problem: {p}")
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in _ORDER}
    per_rule: dict[str, int] = {}
    for f in report.findings:
        per_rule[f.code] = per_rule.get(f.code, 0) + 1
    if len(report.findings) > 10:
        out.append("by rule: " + ", ".join(f"{c} {n}" for c, n in sorted(per_rule.items(), key=lambda x: -x[1])))
    out.append(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info; "
        f"{len(report.rules)} rules; verdict {report.verdict}"
    )
    text = "\n".join(out) + "\n"
    import os

    from .textout import use_rich

    if not use_rich(stream) or os.environ.get("NO_COLOR"):
        stream.write(text)
        return
    _write_colored(text, stream)


_STYLE = {
    "error": "bold red",
    "warning": "yellow",
    "info": "cyan",
    "blocked": "bold red",
    "restorable": "bold green",
    "unknown": "bold red",
}


def _write_colored(text: str, stream) -> None:
    """On a terminal: the same lines, with the severity and the verdict coloured."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=stream, highlight=False, soft_wrap=True)
    for line in text.rstrip("\n").split("\n"):
        word = line.split(" ", 1)[0]
        last = line.rsplit(" ", 1)[-1]
        if word in _STYLE and len(line) > len(word) and line[len(word)] == " ":
            console.print(f"[{_STYLE[word]}]{escape(word)}[/]{escape(line[len(word) :])}")
        elif last in _STYLE and (line.endswith(": " + last) or line.endswith("verdict " + last)):
            console.print(f"{escape(line[: -len(last)])}[{_STYLE[last]}]{last}[/]")
        else:
            console.print(escape(line))
