"""What a repair removed: the checker run on the input and on the written output."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from ..checks.engine import all_rules, run_checks
from ..model.checkpoint import Checkpoint


@dataclass
class CheckDelta:
    removed: list = field(default_factory=list)  # Findings of the input the output no longer has
    # of those, the ones no applied fix addresses: the checker's inference changed (e.g. it assumes files
    # belong to the task's user, and the uid fix changed the user), the files themselves did not
    unaddressed: list = field(default_factory=list)
    remaining: list = field(default_factory=list)  # Findings the output still has (present before)
    added: list = field(default_factory=list)  # Findings new in the output
    before_verdict: str = ""
    after_verdict: str = ""
    note: str | None = None  # what the comparison left out, and why


def finding_key(f) -> tuple:
    return (f.code, f.pid, f.fd, f.vma_start)


def memory_rule_codes() -> list[str]:
    """Rules that read only process memory: their findings cannot change unless the pages do."""
    return [r.code for r in all_rules() if r.category == "secrets"]


def target_for(target, hints: dict):
    """The target the user named, completed by what the fixes know (new uid, restorer's bounding set)."""
    changes = {}
    if target.uid is None and "uid" in hints:
        changes["uid"] = hints["uid"]
    if target.gid is None and "gid" in hints:
        changes["gid"] = hints["gid"]
    if target.bounding_set is None and "bounding_set" in hints:
        changes["bounding_set"] = hints["bounding_set"]
    return dataclasses.replace(target, **changes) if changes else target


def check_delta(
    before: str | os.PathLike,
    after: str | os.PathLike,
    target,
    addressed: set[str] | None = None,
    memory_changed: bool = True,
) -> CheckDelta:
    """Findings on ``before`` vs ``after``; ``addressed``: rule codes the applied fixes are meant to remove.

    With ``memory_changed`` False the memory-scanning rules are left out of both runs (the pages are the
    input's, so their findings are too; scanning gigabytes twice would dominate the repair).
    """
    ignore = [] if memory_changed else memory_rule_codes()
    reports = []
    for path in (before, after):
        cp = Checkpoint(path)
        try:
            reports.append(run_checks(cp, target, ignore=ignore or None))
        finally:
            cp.close()
    old, new = reports
    new_keys = {finding_key(f) for f in new.findings}
    old_keys = {finding_key(f) for f in old.findings}
    removed = [f for f in old.findings if finding_key(f) not in new_keys]
    unaddressed = [f for f in removed if addressed is not None and f.code not in addressed]
    return CheckDelta(
        removed=[f for f in removed if f not in unaddressed],
        unaddressed=unaddressed,
        remaining=[f for f in new.findings if finding_key(f) in old_keys],
        added=[f for f in new.findings if finding_key(f) not in old_keys],
        before_verdict=old.verdict,
        after_verdict=new.verdict,
        note=f"{', '.join(ignore)} (memory) not re-run: no fix changed the pages; `check` reports them"
        if ignore
        else None,
    )
