"""What every comparator gets: both sides, the options, the process pairing."""

from __future__ import annotations

from dataclasses import dataclass, field

from .match import Matching
from .result import CATEGORIES, Change
from .sides import Side


@dataclass(frozen=True)
class DiffOptions:
    match: str = "pid"  # or "tree"
    ignore: frozenset[str] = field(default_factory=frozenset)
    max_hunks: int = 0  # hexdump hunks to collect (--pages); 0 collects none
    use_numpy: bool | None = None  # None: numpy if installed
    show_secrets: bool = False  # environment values named like secrets are masked in the result

    def __post_init__(self):
        unknown = set(self.ignore) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown --ignore categories: {', '.join(sorted(unknown))}")
        if self.match not in ("pid", "tree"):
            raise ValueError(f"unknown --match {self.match!r}")


@dataclass
class Context:
    a: Side
    b: Side
    options: DiffOptions
    matching: Matching

    def keep(self, change: Change) -> bool:
        return change.category not in self.options.ignore

    def kept(self, changes: list[Change]) -> list[Change]:
        return [c for c in changes if self.keep(c)]
