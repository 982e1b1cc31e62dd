"""Pytest plugin (registered in conftest.py): every rule has a test that runs it and gets a finding.

While the tests run, each Finding a rule module builds (inspector/checks/rules/, directly or through
checks/facts.make) is recorded by its code. At the end of a full run (pytest's configured testpaths,
nothing deselected, every test passed) a rule that produced no finding in any test fails the run: a
rule code written in a test file is not a test of it, running the rule on an image is. Findings of
subprocesses (the `cli` fixture) are not seen, so each rule needs one in-process test.
"""

from __future__ import annotations

import sys

import pytest

from inspector.checks.base import Finding
from inspector.checks.engine import RULES_PACKAGE, all_rules

produced: set[str] = set()  # codes of the findings rules built during this run
_deselected = False


def _record_rule_findings(init):
    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        caller = sys._getframe(1)
        for _ in range(2):  # the rule module itself, or facts.make called by it
            if caller is None:
                return
            if caller.f_globals.get("__name__", "").startswith(RULES_PACKAGE + "."):
                produced.add(self.code)
                return
            caller = caller.f_back

    return recording_init


_unrecorded_init = Finding.__init__


def pytest_configure(config):
    Finding.__init__ = _record_rule_findings(_unrecorded_init)


def pytest_unconfigure(config):
    Finding.__init__ = _unrecorded_init


def pytest_deselected(items):
    global _deselected
    _deselected = True


def pytest_sessionfinish(session, exitstatus):
    full_run = session.config.args_source is pytest.Config.ArgsSource.TESTPATHS and not _deselected
    if not full_run or exitstatus != 0:
        return
    untested = [r.code for r in all_rules() if r.code not in produced]
    if untested:
        sys.stderr.write(
            f"\nrule_coverage: no test ran these rules to a finding: {', '.join(untested)} (tests/rule_coverage.py)\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
