"""check --format sarif|junit and suppressions through the real command line, on corpus checkpoints."""

from __future__ import annotations

import json

from junitparser import Failure, JUnitXml
from sarif_pydantic import Sarif

from tests.conftest import corpus_dir

UNPRIV = ["--target", "unprivileged", "--uid", "1001", "--cap", "NET_ADMIN", "--cap", "SYS_PTRACE"]


def test_sarif_of_a_real_check(cli, tmp_path):
    """`plain` unprivileged is blocked (MANIFEST: Can't open file $WORK/data/plain/out ... Permission denied)."""
    r = cli("check", str(corpus_dir("plain")), *UNPRIV, "--format", "sarif", cwd=str(tmp_path))
    assert r.returncode == 1, r.stderr
    log = Sarif.model_validate_json(r.stdout)
    run = log.runs[0]
    rule_ids = [d.id for d in run.tool.driver.rules]
    assert "CRI008" in rule_ids and "CRI050" in rule_ids
    out = [x for x in run.results if x.rule_id == "CRI008" and "/tmp/criu-work/data/plain/out" in x.message.text]
    assert len(out) == 1 and out[0].level.value == "error"
    assert out[0].rule_index == rule_ids.index("CRI008")
    assert [ll.fully_qualified_name for ll in out[0].locations[0].logical_locations] == ["pid 14055", "pid 14055/fd 1"]
    assert run.properties["verdict"] == "blocked"


def test_junit_of_a_real_check_written_with_output(cli, tmp_path):
    dest = tmp_path / "report.xml"
    r = cli("check", str(corpus_dir("plain")), *UNPRIV, "--format", "junit", "-o", str(dest), cwd=str(tmp_path))
    assert r.returncode == 1 and r.stdout == ""
    suite = list(JUnitXml.fromfile(str(dest)))[0]
    cases = {c.name.split()[0]: c for c in suite}
    assert "CRI008" in cases and "CRI050" in cases
    failures = [x for x in cases["CRI008"].result if isinstance(x, Failure)]
    assert any("/tmp/criu-work/data/plain/out" in f.message for f in failures)
    assert cases["CRI050"].is_passed


def test_suppression_unblocks_and_stale_one_warns(cli, tmp_path):
    """`unpriv-plain` is blocked only by the bounding set (CRI007, "Unable to drop capability 24").
    Suppressing it (with a reason) makes the gate pass; an entry that matches nothing is warned about."""
    d = str(corpus_dir("unpriv-plain"))
    r = cli("check", d, *UNPRIV, "--format", "json", cwd=str(tmp_path))
    assert r.returncode == 1
    codes = {f["code"] for f in json.loads(r.stdout)["findings"] if f["severity"] == "error"}
    assert codes == {"CRI007"}
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n'
        '[[tool.criu-inspect.suppress]]\ncode = "CRI007"\nreason = "our hosts drop CAP_SYS_RESOURCE too"\n\n'
        '[[tool.criu-inspect.suppress]]\ncode = "CRI001"\nreason = "old tty setup"\n'
    )
    sub = tmp_path / "ci"
    sub.mkdir()
    r = cli("check", d, *UNPRIV, "--format", "json", cwd=str(sub))  # found upwards from the current dir
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["verdict"] == "restorable"
    assert [(s["code"], s["reason"]) for s in data["suppressed"]] == [("CRI007", "our hosts drop CAP_SYS_RESOURCE too")]
    assert "suppression CRI001 matches no finding" in r.stderr and r.stderr.startswith("criu-inspect: warning: ")
    assert len(data["warnings"]) == 1 and "CRI001" in data["warnings"][0]


def test_bad_config_exits_2(cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[suppress]]\ncode = "CRI007"\n')
    r = cli("check", str(corpus_dir("plain")), "--config", str(cfg))
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f'criu-inspect: error: {cfg}: suppress[0] (CRI007): a reason is required (reason = "why this is accepted")'
    )
