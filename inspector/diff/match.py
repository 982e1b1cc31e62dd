"""Pairing processes of side A with processes of side B.

By pid (the default), or by position in the process tree and comm
(``--match tree``): for a checkpoint that was restored into another pid
namespace and dumped again, the same process has a new pid but the same place
in the tree. The pairing also gives ``map_pid`` to translate pid-valued
fields (ppid, pgid, sid, lock owners) from A's numbering into B's.
"""

from __future__ import annotations

from collections.abc import Hashable

from ..model.types import Process


class Matching:
    def __init__(self, pairs: list[tuple[Process | None, Process | None]], how: str):
        self.pairs = pairs
        self.how = how
        self._a_to_b = {a.pid: b.pid for a, b in pairs if a is not None and b is not None}

    def map_pid(self, pid: int) -> int:
        """A's pid in B's numbering (pids outside the tree stay as they are)."""
        return self._a_to_b.get(pid, pid)

    def map_tid(self, a: Process, b: Process) -> dict[int, int]:
        """A's thread ids -> B's: by tid under pid matching, by position under tree matching."""
        if self.how == "pid":
            return {t: t for t in a.threads if t in b.threads}
        return dict(zip(a.threads, b.threads))


def match_processes(a_procs: list[Process], b_procs: list[Process], how: str = "pid") -> Matching:
    a_keys: dict[Hashable, Process]
    b_keys: dict[Hashable, Process]
    if how == "pid":
        a_keys = {p.pid: p for p in a_procs}
        b_keys = {p.pid: p for p in b_procs}
    elif how == "tree":
        a_keys = tree_keys(a_procs)
        b_keys = tree_keys(b_procs)
    else:
        raise ValueError(f"unknown matching {how!r}")
    pairs: list[tuple[Process | None, Process | None]] = []
    for key, a in a_keys.items():
        pairs.append((a, b_keys.get(key)))
    for key, b in b_keys.items():
        if key not in a_keys:
            pairs.append((None, b))
    return Matching(pairs, how)


def tree_keys(procs: list[Process]) -> dict[Hashable, Process]:
    """Each process keyed by its path from the root: ((comm, n-th sibling of that comm), ...)."""
    by_pid = {p.pid: p for p in procs}
    keys: dict[int, tuple] = {}

    def assign(siblings: list[Process], prefix: tuple, depth: int) -> None:
        seen: dict[str, int] = {}
        for p in siblings:
            if p.pid in keys or depth > len(procs):
                continue
            n = seen.get(p.comm, 0)
            seen[p.comm] = n + 1
            keys[p.pid] = prefix + ((p.comm, n),)
            assign([by_pid[c] for c in p.children if c in by_pid], keys[p.pid], depth + 1)

    roots = [p for p in procs if p.ppid not in by_pid or p.ppid == p.pid]
    assign(roots, (), 0)
    assign([p for p in procs if p.pid not in keys], (("?", 0),), 0)  # unreachable through ppid links
    return {keys[p.pid]: p for p in procs}
