"""no-new-privs: set no_new_privs on every task (explicit only: it changes behaviour).

With no_new_privs CRIU's restorer only warns when it cannot drop a bounding
set capability (unpriv-plain-nnp restored where unpriv-plain did not), but
the process can never again gain privileges through execve (setuid
binaries, file capabilities): never applied unless asked for by name.
"""

from __future__ import annotations

from ..workspace import FixRefused, Workspace
from . import Fix
from .uid import all_creds, creds_of

NAME = "no-new-privs"


def apply(ws: Workspace, arg: str | None) -> None:
    if arg:
        raise FixRefused(NAME, "takes no argument")
    for pid, tid, image, prefix in all_creds(ws, NAME):
        creds = creds_of(ws, image, prefix)
        if "no_new_privs" not in creds.DESCRIPTOR.fields_by_name:
            raise FixRefused(NAME, "the installed schemas know no no_new_privs field")
        ws.set_field(
            image,
            ws.image(image).entries[0],
            prefix + "no_new_privs",
            1,
            f"#0 tid {tid}" if prefix else f"#0 pid {pid}",
        )
    if not any(c.fix == NAME for c in ws.changes):
        raise FixRefused(NAME, "nothing to change: every task already has no_new_privs")
    ws.note(
        "warning",
        "every task now has no_new_privs: it can never again gain privileges through execve "
        "(setuid/setgid binaries and file capabilities stop working for it and its children)",
    )
    ws.note(
        "info",
        "CRIU only warns when it cannot drop a bounding-set capability of a no_new_privs task; "
        "the restored process keeps the restorer's bounding set",
    )


FIX = Fix(
    NAME,
    "set no_new_privs on every task (explicit only: execve can no longer gain privileges)",
    apply,
    addresses=("CRI007", "CRI018"),
)
