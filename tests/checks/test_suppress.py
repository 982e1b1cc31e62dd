"""Suppressions from pyproject.toml / .criu-inspect.toml applied to reports of real checkpoints."""

from __future__ import annotations

import pytest

from inspector.checks.suppress import apply_suppressions, find_config, load_config
from inspector.errors import InspectError
from tests.checkreports import report_for
from tests.conftest import corpus_dir


def write(path, text):
    path.write_text(text)
    return path


def test_pyproject_found_upwards_and_applied(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        """
[project]
name = "x"

[[tool.criu-inspect.suppress]]
code = "TST001"
pid = 14055
fd = 2
reason = "err is recreated by the entrypoint"

[[tool.criu-inspect.suppress]]
code = "tst002"
reason = "restored as root in production"
""",
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_config(sub) == str(tmp_path / "pyproject.toml")
    config = load_config(start=sub)
    assert [(s.code, s.pid, s.fd) for s in config.suppressions] == [("TST001", 14055, 2), ("TST002", None, None)]
    report = report_for(corpus_dir("plain"))
    warnings = apply_suppressions(report, config.suppressions)
    assert warnings == []
    assert [(f.code, f.fd) for f in report.findings] == [("TST001", 1)]  # fd 1 still blocks
    assert [(f.code, f.fd, reason) for f, reason in report.suppressed] == [
        ("TST001", 2, "err is recreated by the entrypoint"),
        ("TST002", None, "restored as root in production"),
    ]
    assert report.verdict == "blocked"


def test_dotfile_wins_over_pyproject_and_verdict_changes(tmp_path):
    write(tmp_path / "pyproject.toml", '[[tool.criu-inspect.suppress]]\ncode = "TST002"\nreason = "x"\n')
    write(
        tmp_path / ".criu-inspect.toml",
        """
[[suppress]]
code = "TST001"
checkpoint = "pla*"
reason = "data files are chowned before restore"
""",
    )
    config = load_config(start=tmp_path)
    assert config.path == str(tmp_path / ".criu-inspect.toml")
    report = report_for(corpus_dir("plain"))
    apply_suppressions(report, config.suppressions)
    assert [f.code for f in report.findings] == ["TST002"]
    assert report.verdict == "restorable" and not report.failed


def test_unused_suppression_warns(tmp_path):
    cfg = write(
        tmp_path / "cfg.toml",
        """
[[suppress]]
code = "TST001"
pid = 1
reason = "wrong pid"

[[suppress]]
code = "CRI999"
reason = "typo"

[[suppress]]
code = "TST001"
checkpoint = "other-*"
reason = "about another checkpoint: not stale here"
""",
    )
    report = report_for(corpus_dir("plain"))
    warnings = apply_suppressions(report, load_config(cfg).suppressions)
    assert len(report.findings) == 3 and report.suppressed == []
    assert warnings == report.warnings
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{cfg}: suppress[0]: suppression TST001 pid 1 matches no finding")
    assert "CRI999 matches no finding (rule CRI999 did not run)" in warnings[1]


def test_unrelated_pyproject_is_not_a_config(tmp_path):
    """A pyproject.toml without [tool.criu-inspect] is skipped (and nothing above tmp has one)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "unrelated"\n')
    assert find_config(tmp_path) is None
    config = load_config(start=tmp_path)
    assert config.path is None and config.suppressions == []


@pytest.mark.parametrize(
    "text,error",
    [
        ('[[suppress]]\ncode = "TST001"\n', "a reason is required"),
        ('[[suppress]]\ncode = "TST001"\nreason = "  "\n', "a reason is required"),
        ('[[suppress]]\nreason = "x"\n', "code is required"),
        ('[[suppress]]\ncode = "TST001"\nreason = "x"\npid = "12"\n', "pid must be a non-negative integer"),
        ('[[suppress]]\ncode = "TST001"\nreason = "x"\nprocess = 12\n', "unknown key(s) process"),
        ('suppress = "TST001"\n', "suppress must be an array of tables"),
        ("[[suppress]\n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path, text, error):
    cfg = write(tmp_path / ".criu-inspect.toml", text)
    with pytest.raises(InspectError) as exc:
        load_config(cfg)
    assert exc.value.path == str(cfg)
    assert error in exc.value.reason


def test_missing_config_file():
    with pytest.raises(InspectError, match="config file not found"):
        load_config("/nonexistent/criu-inspect.toml")
