"""Fixtures of the end-to-end suite: the real CRIU (one fixture finds it) and a lab per test.

Every test here is marked ``e2e``. Where no CRIU >= 4.2 can be had, each
skips with one line saying why; with CRIU_INSPECT_REQUIRE_CRIU=1 (set by
.ci/run) that is a failure instead, so CI cannot go green without the judge.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from . import realcriu
from .lab import Lab

_RECORDS: list[dict] = []


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_base():
    """A world-traversable temp dir for the session (test users must reach their files); removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="criu-inspect-e2e-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _unavailable(why: str):
    if os.environ.get("CRIU_INSPECT_REQUIRE_CRIU") == "1":
        pytest.fail(f"e2e: {why}", pytrace=False)
    pytest.skip(f"e2e: {why}")


@pytest.fixture(scope="session")
def criu(e2e_base) -> realcriu.RealCriu:
    """The real CRIU >= 4.2 (CRIU=PATH overrides), its capped copy for the test user, and the test users."""
    found = realcriu.prepare(e2e_base / "criu")
    if isinstance(found, str):
        _unavailable(found)
    return found


@pytest.fixture(scope="session")
def bindir(e2e_base) -> Path:
    d = e2e_base / "bin"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    return d


@pytest.fixture
def lab(criu, e2e_base, bindir, request):
    def record(outcome, user, **row):
        who = "root" if user is None else "test user" if user == criu.user else "another user"
        _RECORDS.append(
            {
                "test": request.node.nodeid,
                "restorer": who,
                **row,
                "restored": outcome.restored,
                "outcome": outcome.describe(),
            }
        )

    the_lab = Lab(criu, e2e_base, request.node.name, bindir, record)
    yield the_lab
    the_lab.close()


def pytest_terminal_summary(terminalreporter):
    if not _RECORDS:
        return
    scenarios = {r["test"].split("::")[0] + "::" + r["test"].split("::")[1].split("[")[0] for r in _RECORDS}
    false_ok = [r for r in _RECORDS if r["verdict"] == "restorable" and not r["restored"] and not r["known_limit"]]
    limits = [r for r in _RECORDS if r["known_limit"]]
    terminalreporter.write_line(
        f"e2e: {len(_RECORDS)} real restores in {len(scenarios)} tests; "
        f"{sum(r['restored'] for r in _RECORDS)} restored, {len(false_ok)} false 'restorable', "
        f"{len(limits)} known limits (a warning where the images cannot tell)"
    )
    out = os.environ.get("CRIU_INSPECT_E2E_RECORD")
    if out:
        Path(out).write_text("".join(json.dumps(r) + "\n" for r in _RECORDS))
