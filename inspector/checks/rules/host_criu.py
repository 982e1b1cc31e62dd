"""CRI103 (host): the criu binary that will restore: found, new enough, holding the capabilities the target assumes."""

from __future__ import annotations

import os

from ...model import names
from ..base import Rule
from ..facts import make, restoring_uid
from ..host import Host, current_host


def check(cp, target, host=None):
    host = host or (Host(criu=target.criu) if target.criu else current_host())
    path = host.criu_path
    if path is None and target.criu:
        yield make(
            RULE, f"--criu {target.criu}: no executable file there", fix="Name the criu binary that will restore."
        )
        return
    if path is None:
        yield make(
            RULE,
            "no criu binary in PATH (nor in /usr/local/sbin, /usr/sbin, /sbin)",
            fix="Install criu (apt-get install criu, or build it) or put it in PATH, or name it with --criu.",
        )
        return
    version = host.criu_version
    details = {"path": path, "version": ".".join(map(str, version)) if version else None}
    if version is None:
        yield make(
            RULE,
            f"{path} --version did not say which criu it is ({(host.criu_version_text or '')[:80]!r})",
            severity="warning",
            details=details,
        )
    elif (cp.criu_version_range[0] or (0,)) >= (4, 0) and version < cp.criu_version_range[0]:
        yield make(
            RULE,
            f"{path} is criu {details['version']}, older than the criu ({cp.criu_version_hint}) that wrote this "
            f"checkpoint (its images have fields that release added); an older criu does not read the page "
            f"counts 4.2 writes in pagemap entries, and 3.x ignores what 4.x added, so it restores the wrong "
            f"memory or fails",
            fix="Restore with criu 4.0 or later (the version that dumped it, or newer).",
            details=details,
        )
    if target.privileged:
        if os.geteuid() != 0:
            yield make(
                RULE,
                f"target is a root restore but this preflight runs as uid {os.geteuid()}: run criu restore as root",
                severity="info",
                details=details,
            )
        return
    caps = host.file_caps(path)
    held = caps.permitted if caps is not None else 0
    source = (
        f"file capabilities {','.join(caps.names()).lower() or 'none'}" if caps is not None else "no file capabilities"
    )
    if os.geteuid() == restoring_uid(cp, target):
        held |= host.self_caps("CapAmb")  # ambient capabilities of the restoring user's session survive exec
    need = ["CHECKPOINT_RESTORE", *sorted(target.caps)]
    missing = [c for c in need if not held >> names.CAP_BY_NAME[c] & 1]
    details.update(file_caps=caps.names() if caps else [], missing=missing)
    if "CHECKPOINT_RESTORE" in missing:
        yield make(
            RULE,
            f"{path} has {source}: run by an unprivileged user it will not hold CAP_CHECKPOINT_RESTORE, "
            f"which criu restore --unprivileged needs",
            fix=f"Give the binary the capabilities: setcap cap_checkpoint_restore{''.join(',cap_' + c.lower() for c in sorted(target.caps))}=eip {path} "
            "(or use a copy of criu for that, as the corpus did), or run criu where the user holds them (a container with them).",
            details=details,
            criu_error="CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability",
        )
    elif missing:
        yield make(
            RULE,
            f"the check assumed the restorer holds {', '.join('CAP_' + c for c in missing)} (--cap), but {path} "
            f"has {source}: findings that --cap turned into passes may not pass here",
            severity="warning",
            details=details,
            fix=f"setcap the missing capabilities on {path}, or check again without those --cap options.",
        )
    elif caps is not None and not caps.effective:
        yield make(
            RULE,
            f"{path} has capabilities {','.join(caps.names()).lower()} without the effective flag (+e): "
            "criu does not raise them itself",
            severity="warning",
            details=details,
            fix=f"setcap with =eip: setcap cap_checkpoint_restore=eip {path}",
        )


RULE = Rule(
    code="CRI103",
    title="criu binary of this host (found, version, file capabilities)",
    category="host",
    severity="error",
    rationale=(
        "The restore runs the criu found here. It must understand the images (criu 3.x does not read what 4.x "
        "writes in pagemap entries) and, for criu restore --unprivileged, hold CAP_CHECKPOINT_RESTORE and any "
        "capability the check was told the restorer has (--cap), usually as file capabilities "
        "(security.capability, what getcap shows)."
    ),
    fix="Install criu >= the dumping version; setcap cap_checkpoint_restore(+the --cap ones)=eip on the binary.",
    check=check,
    criu_error=None,
    host=True,
)
