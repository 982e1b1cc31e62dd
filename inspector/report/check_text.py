"""CheckReport -> text for people: grouped by severity, what each finding concerns, why, the fix."""

from __future__ import annotations

import textwrap

from ..checks.base import CheckReport, Finding

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
        who = (f"unprivileged (uid {report.assumed_uid} assumed: the tree ran as root and no --uid was given; "
               "pass --uid for the user who will restore it)")
    elif t.container_root:
        who = "unprivileged (uid 0: a container's root, with the default container capabilities)"
    else:
        who = f"unprivileged (uid {t.uid if t.uid is not None else 'as dumped'})"
    opts = [name for name, on in (("--shell-job", t.shell_job), ("--file-locks", t.file_locks),
                                  ("--tcp-established", t.tcp_established), ("--tcp-close", t.tcp_close),
                                  ("--ext-unix-sk", t.ext_unix_sk),
                                  ("--allow-uprobes", getattr(t, "allow_uprobes", False))) if on]  # fmt: skip
    if t.manage_cgroups:
        opts.append(f"--manage-cgroups={t.manage_cgroups}")
    opts += [f"--inherit-fd {spec}" for spec in t.inherit_fds]
    opts += [f"--external {spec}" for spec in getattr(t, "externals", ())]
    if getattr(t, "cgroup_yard", None):
        opts.append(f"--cgroup-yard {t.cgroup_yard}")
    caps = f", caps {','.join(sorted(t.caps))}" if t.caps and not t.privileged else ""
    term = "on a terminal" if t.terminal else "no terminal"
    return f"target: {who}{caps}, {term}" + (f", criu restore {' '.join(opts)}" if opts else "")


def render(report: CheckReport, stream) -> None:
    out = [f"{report.checkpoint}: {report.verdict}", target_line(report), ""]
    for severity in _ORDER:
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        out.append(f"{severity.upper()}S ({len(group)})" if severity != "info" else f"INFO ({len(group)})")
        for f in group:
            out += finding_lines(f)
            out.append("")
    for f, reason in report.suppressed:
        out.append(f"suppressed {f.code} ({f.severity}): {reason}")
    if report.suppressed:
        out.append("")
    for p in report.problems:
        out.append(f"problem: {p}")
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in _ORDER}
    out.append(
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info; "
        f"{len(report.rules)} rules; verdict {report.verdict}"
    )
    text = "\n".join(out) + "\n"
    from .textout import use_rich

    import os

    if not use_rich(stream) or os.environ.get("NO_COLOR"):
        stream.write(text)
        return
    _write_colored(text, stream)


_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "blocked": "bold red", "restorable": "bold green",
          "unknown": "bold red"}


def _write_colored(text: str, stream) -> None:
    """On a terminal: the same lines, with the severity and the verdict coloured."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=stream, highlight=False, soft_wrap=True)
    for line in text.rstrip("\n").split("\n"):
        word = line.split(" ", 1)[0]
        last = line.rsplit(" ", 1)[-1]
        if word in _STYLE and len(line) > len(word) and line[len(word)] == " ":
            console.print(f"[{_STYLE[word]}]{escape(word)}[/]{escape(line[len(word):])}")
        elif last in _STYLE and (line.endswith(": " + last) or line.endswith("verdict " + last)):
            console.print(f"{escape(line[: -len(last)])}[{_STYLE[last]}]{last}[/]")
        else:
            console.print(escape(line))
