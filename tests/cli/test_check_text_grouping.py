"""check's text output: findings about many files of one directory are one entry; --max-per-rule; a summary."""

from __future__ import annotations

import dataclasses
import io
import json

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.report import check_text

from ..conftest import corpus_dir


def cache_report():
    """A real CRI008 finding of `plain`, repeated for 100 files of one cache directory (a desktop's preflight)."""
    report = run_checks(corpus_dir("plain"), Target(uid=1001))
    [first] = [f for f in report.findings if f.code == "CRI008" and f.fd == 1]
    many = [
        dataclasses.replace(
            first,
            message=first.message.replace("/data/plain/out", f"/cache/f{i}"),
            details={**first.details, "path": f"/tmp/criu-work/cache/f{i}"},
        )
        for i in range(100)
    ]
    return dataclasses.replace(report, findings=[f for f in report.findings if f.code != "CRI008"] + many)


def text(report) -> str:
    out = io.StringIO()
    check_text.render(report, out)
    return out.getvalue()


def test_a_hundred_files_of_one_directory_are_one_entry():
    out = text(cache_report())
    assert out.count("error  CRI008") == 1 and out.count("fix: make the files writable") == 1
    assert "100 findings: 100 files under /tmp/criu-work/cache, 1 process" in out
    assert "... the same for f0, f1, f2, f3, f4, f5, ... (pids 14055)" in out
    assert "by rule: CRI008 100, CRI005 1, CRI007 1" in out


def test_max_per_rule_and_the_json_keeps_every_finding(cli):
    report = run_checks(corpus_dir("tree"), Target(uid=1001))
    assert [f.code for f in report.findings].count("CRI005") == 4
    out = text(dataclasses.replace(report, max_per_rule=1))
    assert out.count("error  CRI005") == 1
    assert "... 3 more CRI005 finding(s) not shown (--max-per-rule 1; --format json lists all)" in out
    # CRI008: one file written by four processes, already one entry
    assert out.count("error  CRI008") == 1 and "4 findings: 1 file under /tmp/criu-work/data/tree, 4 processes" in out
    data = json.loads(
        cli("check", str(corpus_dir("tree")), "--uid", "1001", "--max-per-rule", "1", "--format", "json").stdout
    )
    assert [f["code"] for f in data["findings"]].count("CRI005") == 4
