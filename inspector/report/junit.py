"""A CheckReport as JUnit XML, for CI systems that show test results (GitLab, Jenkins).

One testcase per rule that ran (classname = category, name = "CODE title"):
it passes when the rule found nothing at or above ``--fail-on``, and has one
<failure> per such finding otherwise (message, fix, the CRIU error it would
cause). Lower findings and suppressed ones are listed in the testcase's
<system-out>; images that could not be read are an <error> testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..checks.base import SEVERITY_RANK, CheckReport, Finding

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry control characters (a path or comm may hold them): show them escaped."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _where(f: Finding) -> str:
    parts = []
    if f.pid is not None:
        parts.append(f"pid {f.pid}")
    if f.fd is not None:
        parts.append(f"fd {f.fd}")
    if f.image:
        parts.append(f.image)
    return ", ".join(parts)


def _failure_text(f: Finding) -> str:
    lines = [f.message]
    where = _where(f)
    if where:
        lines.append(f"Where: {where}")
    lines.append(f"Fix: {f.fix}")
    if f.criu_error:
        lines.append(f"CRIU error: {f.criu_error}")
    return "\n".join(lines)


def junit_tree(report: CheckReport) -> ET.ElementTree:
    threshold = SEVERITY_RANK[report.fail_on]
    suites = ET.Element("testsuites", name="criu-inspect check")
    suite = ET.SubElement(suites, "testsuite", name=f"criu-inspect check {report.checkpoint}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="verdict", value=report.verdict)
    ET.SubElement(props, "property", name="target", value=report.target.kind)
    ET.SubElement(props, "property", name="fail-on", value=report.fail_on)
    tests = failures = errors = 0
    by_code: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    suppressed: dict[str, list[tuple[Finding, str]]] = {}
    for f, reason in report.suppressed:
        suppressed.setdefault(f.code, []).append((f, reason))
    codes = [r.code for r in report.rules] + sorted(set(by_code) - {r.code for r in report.rules})
    titles = {r.code: (r.title, r.category) for r in report.rules}
    for code in codes:
        found = by_code.get(code, [])
        title, category = titles.get(code) or (found[0].title, found[0].category)
        case = ET.SubElement(
            suite, "testcase", classname=f"criu-inspect.{category}", name=_clean(f"{code} {title}"), time="0"
        )
        tests += 1
        failing = [f for f in found if SEVERITY_RANK.get(f.severity, 0) >= threshold]
        for f in failing:
            el = ET.SubElement(case, "failure", message=_clean(f.message), type=f"{code}:{f.severity}")
            el.text = _clean(_failure_text(f))
        if failing:
            failures += 1
        notes = [f"{f.severity}: {_failure_text(f)}" for f in found if f not in failing]
        notes += [f"suppressed ({reason}): {f.message}" for f, reason in suppressed.get(code, [])]
        if notes:
            ET.SubElement(case, "system-out").text = _clean("\n\n".join(notes))
    if report.problems:
        case = ET.SubElement(
            suite, "testcase", classname="criu-inspect.images", name="checkpoint images readable", time="0"
        )
        for p in report.problems:
            ET.SubElement(case, "error", message=_clean(p), type="InspectError").text = _clean(p)
        tests += 1
        errors += 1
    if getattr(report, "warnings", None):
        ET.SubElement(suite, "system-err").text = _clean("\n".join(report.warnings))
    for el in (suite, suites):
        el.set("tests", str(tests))
        el.set("failures", str(failures))
        el.set("errors", str(errors))
        el.set("time", "0")
    suite.set("skipped", "0")
    ET.indent(suites)
    return ET.ElementTree(suites)


def render(report: CheckReport, stream) -> None:
    root = junit_tree(report).getroot()
    assert root is not None  # junit_tree builds the tree on its <testsuites> element
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
