"""The check engine: rule discovery, selection, broken images, exit codes, renderers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.checks.base import CheckReport, Rule, Target
from inspector.checks.engine import all_rules, rule_by_code, run_checks, selected_rules
from inspector.errors import InspectError
from tests.conftest import corpus_dir

UNPRIV = Target(kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))


def test_rules_are_discovered_with_unique_codes_and_docs():
    rules = all_rules()
    codes = [r.code for r in rules]
    assert len(codes) == len(set(codes)) and len(codes) >= 9
    for r in rules:
        assert isinstance(r, Rule) and r.severity in ("error", "warning", "info")
        assert r.title and r.rationale and r.fix and callable(r.check)
    assert rule_by_code("cri001").code == "CRI001"


def test_select_and_ignore_take_codes_and_prefixes():
    assert [r.code for r in selected_rules(select="CRI001")] == ["CRI001"]
    assert all(r.code.startswith("CRI00") for r in selected_rules(select=["CRI00"]))
    assert "CRI005" not in [r.code for r in selected_rules(ignore="CRI005,CRI006")]


def test_plain_unprivileged_is_blocked_and_root_is_restorable():
    report = run_checks(corpus_dir("plain"), UNPRIV)
    assert isinstance(report, CheckReport) and report.verdict == "blocked" and report.failed
    assert {"CRI005", "CRI008"} <= {f.code for f in report.findings if f.severity == "error"}
    root = run_checks(corpus_dir("plain"), Target(kind="root"))
    assert root.verdict == "restorable" and not root.failed


def test_fail_on_below_error_counts_lesser_findings():
    # ghost restored by root: restorable, with one info (CRI009: criu re-creates the deleted file)
    report = run_checks(corpus_dir("ghost"), Target(kind="root"), fail_on="info")
    assert report.verdict == "restorable" and [(f.code, f.severity) for f in report.findings] == [("CRI009", "info")]
    assert report.failed
    assert not run_checks(corpus_dir("ghost"), Target(kind="root"), fail_on="warning").failed


def test_broken_image_is_a_problem_not_a_crash(writable_copy):
    """A copy of plain whose core image is cut short: the check still runs and says what it could not read."""
    cp_dir = writable_copy("plain")
    core = cp_dir / "core-14055.img"
    core.write_bytes(core.read_bytes()[:40])
    report = run_checks(cp_dir, UNPRIV)
    assert any("core-14055.img" in p for p in report.problems)


def test_not_a_checkpoint_raises(tmp_path):
    with pytest.raises(InspectError):
        run_checks(tmp_path, UNPRIV)


def test_cli_exit_codes_and_json(cli, tmp_path):
    blocked = cli("check", str(corpus_dir("plain-devnull")), "--uid", "1001", "--format", "json")
    assert blocked.returncode == 1, blocked.stderr
    data = json.loads(blocked.stdout)
    assert data["version"] == 1 and data["verdict"] == "blocked" and data["target"]["uid"] == 1001
    f = next(f for f in data["findings"] if f["code"] == "CRI005")
    assert f["pid"] == 14171 and f["severity"] == "error" and "setresuid" in f["message"] and f["fix"]
    ok = cli("check", str(corpus_dir("plain-devnull")), "--target", "root")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "restorable" in ok.stdout.splitlines()[0]
    missing = cli("check", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.startswith("criu-inspect: error:")


def test_text_report_groups_by_severity_with_fix(cli):
    out = cli("check", str(corpus_dir("tty")), "--uid", "1001").stdout
    assert out.index("ERRORS") < out.index("error  CRI001")
    assert "fd 0,1,2 -> /dev/pts/0" in out and "fix: " in out and "(criu: " in out


def test_rules_and_rule_commands(cli):
    listing = cli("rules")
    assert listing.returncode == 0 and "CRI001" in listing.stdout and "severity" in listing.stdout
    page = cli("rule", "CRI005")
    assert page.returncode == 0 and page.stdout.startswith("# CRI005")
    assert cli("rule", "CRI999").returncode == 2


def test_unknown_format_module_is_a_clear_error(monkeypatch):
    import io

    from inspector.report import check_render

    monkeypatch.setitem(check_render.FORMATS, "sarif", "inspector.report.no_such_module")
    report = run_checks(corpus_dir("pair-1"), UNPRIV)
    with pytest.raises(InspectError, match="not available"):
        check_render.render(report, "sarif", io.StringIO())


def test_every_rule_has_its_page_and_docs_rules_is_in_step():
    """Each rule has a page template; docs/rules/CODE.md is that page rendered (python -m inspector.checks.docs)."""
    from inspector.checks.docs import REPO_PAGES, repo_page, rule_page, template_path

    for r in all_rules():
        assert template_path(r.code).is_file(), f"{r.code}: no page template {template_path(r.code)}"
        page = rule_page(r)
        assert page is not None and page.startswith(f"# {r.code}: {r.title}\n"), r.code
        assert "## How to fix" in page and "## Example" in page and "{{" not in page, r.code
        on_disk = (REPO_PAGES / f"{r.code}.md").read_text(encoding="utf-8")
        assert on_disk == repo_page(r), f"docs/rules/{r.code}.md is stale: run python -m inspector.checks.docs"


def test_a_rule_page_writes_no_rule_field_twice():
    """The template shows the Rule's title, rationale and fix through markers, never a copy of them."""
    from inspector.checks.docs import fix_sentence, template_path

    for r in all_rules():
        template = template_path(r.code).read_text(encoding="utf-8")
        assert template.startswith(f"# {r.code}: {{{{title}}}}\n"), r.code
        assert "`{{category}}`" in template and "**{{severity}}**" in template, r.code
        for text in (r.rationale, fix_sentence(r.fix)):
            assert text not in template, f"{r.code}: the template repeats {text[:40]!r}: use its marker"


def test_a_failing_rule_does_not_hide_the_others(monkeypatch):
    import dataclasses

    from inspector.checks import engine

    def broken(cp, target):
        raise KeyError("surprise")
        yield  # pragma: no cover

    rules = list(engine._discover())
    rules[0] = dataclasses.replace(rules[0], check=broken)
    monkeypatch.setattr(engine, "_discover", lambda: tuple(rules))
    monkeypatch.delenv("CRIU_INSPECT_DEBUG", raising=False)
    report = run_checks(corpus_dir("plain-devnull"), UNPRIV)
    assert any(p.endswith(f"internal error in rule {rules[0].code}: KeyError: 'surprise'") for p in report.problems)
    assert any(f.code == "CRI005" for f in report.findings)


def test_unknown_select_code_is_an_error(cli):
    bad = cli("check", str(corpus_dir("pair-1")), "--select", "CRI9")
    assert bad.returncode == 2 and "--select CRI9: no such rule" in bad.stderr
    ok = cli("check", str(corpus_dir("pair-1")), "--uid", "1001", "--select", "CRI00", "--ignore", "CRI007")
    assert ok.returncode == 0 and "CRI007" not in ok.stdout


def test_text_on_a_terminal_colours_only_the_severity(monkeypatch):
    import io

    from inspector.report import check_text

    class Tty(io.StringIO):
        def isatty(self):
            return True

    report = run_checks(corpus_dir("unixsock"), UNPRIV)
    plain = io.StringIO()
    check_text.render(report, plain)
    monkeypatch.delenv("CRIU_INSPECT_PLAIN", raising=False)
    coloured = Tty()
    monkeypatch.delenv("NO_COLOR", raising=False)
    check_text.render(report, coloured)
    assert "\x1b[1;31merror\x1b[0m  CRI005" in coloured.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    no_colour = Tty()
    check_text.render(report, no_colour)
    assert no_colour.getvalue() == plain.getvalue()


def test_fail_on_never_reports_without_failing(cli):
    report = run_checks(corpus_dir("plain"), Target(uid=1001), fail_on="never")
    assert report.verdict == "blocked" and not report.failed
    proc = cli("check", str(corpus_dir("plain")), "--uid", "1001", "--fail-on", "never", "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["verdict"] == "blocked" and data["failed"] is False and data["fail_on"] == "never"


def test_no_rule_touches_protobuf():
    """Rules read the model, never CRIU's protobuf: a rule that did would tie itself to a schema version."""
    import re

    import inspector.checks.rules as rules_pkg

    protobuf = re.compile(r"_pb2\b|\bHasField\(|\bWhichOneof\(|\.message\b")
    rules_dir = Path(rules_pkg.__file__).parent
    offenders = {
        p.name: [line.strip() for line in p.read_text().splitlines() if protobuf.search(line)]
        for p in sorted(rules_dir.glob("*.py"))
    }
    assert len(offenders) >= 40  # every rule module was read
    assert {name: lines for name, lines in offenders.items() if lines} == {}
