"""The registry of repair fixes: one module per fix, each defining ``FIX = Fix(...)``.

Fixes run in the order of ``ORDER`` whatever the order on the command line, so
that, e.g., ``uid`` sees whether ``detach-tty`` already removed the tty.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..workspace import Workspace

# fix name -> module, in the order fixes apply
ORDER: dict[str, str] = {
    "relocate": "relocate",
    "detach-tty": "detach_tty",
    "cgroup-root": "cgroup_root",
    "uid": "uid",
    "bounding-set": "bounding_set",
    "no-new-privs": "no_new_privs",
    "scrub-secrets": "scrub_secrets",
}


@dataclass(frozen=True)
class Fix:
    name: str
    summary: str  # one line for --help and `repair --list`
    apply: Callable[[Workspace, str | None], None]  # (workspace, the NAME=ARG argument); raises FixRefused
    arg: str | None = None  # metavar of its argument (NAME=ARG), None: takes none
    arg_required: bool = False
    repeatable: bool = False
    # codes of the check rules whose findings this fix is meant to remove
    addresses: tuple[str, ...] = ()

    @property
    def doc_page(self) -> str:
        return f"docs/fixes/{self.name}.md"


def names() -> list[str]:
    return list(ORDER)


def get(name: str) -> Fix:
    module = ORDER.get(name)
    if module is None:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{module}").FIX


def all_fixes() -> list[Fix]:
    return [get(n) for n in ORDER]
