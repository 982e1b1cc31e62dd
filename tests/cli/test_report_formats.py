"""SARIF 2.1.0 and JUnit renderings of a CheckReport, read back with independent parsers.

Reports are built from rules run directly on real checkpoints (tests/checkreports.py,
and CRI050 on a copy of ``plain`` with fake secrets written into its pages by
decode -> change -> encode, see tests/checks/test_secrets.py).
"""

from __future__ import annotations

import io
import json

import pytest
from junitparser import Error, Failure, JUnitXml
from sarif_pydantic import Sarif

from inspector.checks.base import CheckReport, Target
from inspector.checks.rules import secrets_in_memory
from inspector.model.checkpoint import Checkpoint
from inspector.report import junit, sarif
from tests.checkreports import RULES, report_for
from tests.checks.test_secrets import FAKE_AWS, make_secrets_case
from tests.conftest import corpus_dir


def sarif_of(report) -> tuple[Sarif, dict]:
    buf = io.StringIO()
    sarif.render(report, buf)
    raw = json.loads(buf.getvalue())
    return Sarif.model_validate(raw), raw


def junit_of(report, tmp_path) -> JUnitXml:
    path = tmp_path / "junit.xml"
    with open(path, "w") as fh:
        junit.render(report, fh)
    return JUnitXml.fromfile(str(path))


def test_sarif_parses_with_real_values(monkeypatch):
    monkeypatch.setenv("CRIU_INSPECT_PROJECT_URL", "https://example.org/criu-inspect")
    report = report_for(corpus_dir("plain"))
    log, raw = sarif_of(report)
    assert raw["$schema"].endswith("sarif-2.1.0.json") and log.version == "2.1.0"
    run = log.runs[0]
    driver = run.tool.driver
    assert (
        driver.name == "criu-inspect"
        and driver.version
        and driver.information_uri == "https://example.org/criu-inspect"
    )
    assert [r.id for r in driver.rules] == ["TST001", "TST002", "TST003"]
    tst1 = driver.rules[0]
    assert tst1.name == "FileOpenedForWriting"
    assert tst1.short_description.text == "file opened for writing"
    assert tst1.full_description.text.startswith("criu reopens each file")
    assert tst1.help.text.startswith("Fix: Make the file writable")
    assert tst1.help_uri == "https://example.org/criu-inspect/blob/main/docs/rules/TST001.md"
    assert tst1.default_configuration.level == "error"
    assert driver.rules[2].default_configuration.level == "note"  # info -> note

    results = run.results
    assert [(r.rule_id, r.level.value) for r in results] == [
        ("TST001", "error"),
        ("TST001", "error"),
        ("TST002", "warning"),
    ]
    out_fd = results[0]
    assert out_fd.rule_index == 0
    assert out_fd.message.text.startswith(
        "pid 14055 (ticker) fd 1: /tmp/criu-work/data/plain/out is opened for writing"
    )
    assert "Fix: Make the file writable" in out_fd.message.text
    loc = out_fd.locations[0]
    assert loc.physical_location.artifact_location.uri == "files.img"
    assert loc.physical_location.artifact_location.uri_base_id == "CHECKPOINT"
    assert [ll.fully_qualified_name for ll in loc.logical_locations] == ["pid 14055", "pid 14055/fd 1"]
    assert results[2].locations[0].physical_location.artifact_location.uri == "core-14055.img"
    base = run.original_uri_base_ids["CHECKPOINT"].uri
    assert base.startswith("file://") and base.endswith("/plain/")
    assert run.properties["verdict"] == "blocked"
    assert run.properties["target"]["uid"] == 1001
    # the fingerprints tell the two fds apart and are stable
    fps = [r.partial_fingerprints["criuInspectFinding/v1"] for r in results]
    assert len(set(fps)) == 3
    assert fps == [
        r.partial_fingerprints["criuInspectFinding/v1"]
        for r in sarif_of(report_for(corpus_dir("plain")))[0].runs[0].results
    ]


def test_sarif_secret_finding_has_address_and_masked_value(writable_copy):
    cp_dir, pid, where = make_secrets_case(writable_copy)
    cp = Checkpoint(cp_dir)
    findings = list(secrets_in_memory.RULE.check(cp, Target()))
    report = CheckReport(str(cp_dir), Target(), findings, [secrets_in_memory.RULE])
    log, raw = sarif_of(report)
    rule = log.runs[0].tool.driver.rules[0]
    assert rule.id == "CRI050" and rule.default_configuration.level == "warning"
    assert "# CRI050" in rule.help.markdown  # the docs page travels with the rule
    api = next(r for r in log.runs[0].results if r.properties["details"]["name"] == "API_KEY")
    phys = api.locations[0].physical_location
    assert phys.artifact_location.uri == "pages-1.img"
    assert phys.address.absolute_address == where["env_start"]
    # the region is the value's byte range in pages-1.img: reading it there gives the key
    with open(cp_dir / "pages-1.img", "rb") as fh:
        fh.seek(phys.region.byte_offset)
        assert fh.read(phys.region.byte_length) == FAKE_AWS
    assert FAKE_AWS.decode() not in json.dumps(raw)
    assert "AKIA******** (20 bytes)" in api.message.text


def test_sarif_suppressions_and_notifications():
    report = report_for(corpus_dir("plain"))
    f = report.findings.pop(2)
    report.suppressed.append((f, "we restore as root in production"))
    report.problems.append("core-99.img: truncated entry (offset 4)")
    report.warnings.append(".criu-inspect.toml: suppress[1]: suppression TST009 matches no finding")
    log, raw = sarif_of(report)
    run = log.runs[0]
    sup = [r for r in run.results if r.model_extra.get("suppressions")]
    assert len(sup) == 1 and sup[0].rule_id == "TST002"
    assert sup[0].model_extra["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "we restore as root in production"}
    ]
    inv = raw["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert [n["level"] for n in inv["toolExecutionNotifications"]] == ["error", "warning"]


def test_junit_one_testcase_per_rule(tmp_path):
    report = report_for(corpus_dir("plain"))
    xml = junit_of(report, tmp_path)
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.tests == 3 and suite.failures == 1 and suite.errors == 0
    cases = {c.name: c for c in suite}
    assert list(cases) == ["TST001 file opened for writing", "TST002 task runs as root", "TST003 never fires"]
    failures = [r for r in cases["TST001 file opened for writing"].result if isinstance(r, Failure)]
    assert [f.message for f in failures] == [
        "pid 14055 (ticker) fd 1: /tmp/criu-work/data/plain/out is opened for writing",
        "pid 14055 (ticker) fd 2: /tmp/criu-work/data/plain/err is opened for writing",
    ]
    assert "Fix: Make the file writable by the restoring user" in failures[0].text
    assert "Can't open file /tmp/criu-work/data/plain/out on restore: Permission denied" in failures[0].text
    # a warning does not fail the default gate; it is listed in system-out
    uid_case = cases["TST002 task runs as root"]
    assert uid_case.is_passed and "runs as uid 0" in uid_case.system_out
    assert cases["TST003 never fires"].is_passed
    assert cases["TST001 file opened for writing"].classname == "criu-inspect.files"


@pytest.mark.parametrize("fail_on,failing", [("warning", 2), ("info", 2), ("error", 1)])
def test_junit_follows_fail_on(tmp_path, fail_on, failing):
    report = report_for(corpus_dir("plain"), fail_on=fail_on)
    suite = list(junit_of(report, tmp_path))[0]
    assert suite.failures == failing


def test_junit_problems_are_errors(tmp_path):
    report = CheckReport(
        str(corpus_dir("plain")), Target(), [], list(RULES), problems=["mm-1.img: bad magic (offset 0)"]
    )
    suite = list(junit_of(report, tmp_path))[0]
    assert suite.errors == 1
    case = [c for c in suite if c.name == "checkpoint images readable"][0]
    assert isinstance(case.result[0], Error) and case.result[0].message == "mm-1.img: bad magic (offset 0)"
