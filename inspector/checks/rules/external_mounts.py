"""Mounts dumped as external: criu restore must be told where each one comes from."""

from __future__ import annotations

import re

from ..base import Rule
from ..facts import make

AUTODETECTED = "CRIU:AUTODETECTED"  # criu dump --external mnt[] found it: restore needs --ext-mount-map auto
EXTERNAL_DEV = "CRIU:EXTERNAL_DEV"  # an external device mount criu mounts again by itself


def mapped_keys(target) -> set[str]:
    """KEY of every --external mnt[KEY]:PATH the restore is given."""
    keys = set()
    for spec in target.externals:
        m = re.fullmatch(r"mnt\[([^\]]*)\]:.*", spec)
        if m:
            keys.add(m.group(1))
    return keys


def external_mounts(cp):
    """(image, mount) for every mount criu restores from outside the checkpoint."""
    for name in sorted(cp.files):
        if not re.fullmatch(r"mountpoints-\d+\.img", name):
            continue
        for me in cp.external_mounts(name):
            yield name, me


def check(cp, target):
    keys = mapped_keys(target)
    for image, me in external_mounts(cp):
        mountpoint, key = me.mountpoint, me.key
        where = dict(image=image, details={"mnt_id": me.mnt_id, "mountpoint": mountpoint, "ext_key": key})
        if key == EXTERNAL_DEV:
            continue
        if key == AUTODETECTED:
            yield make(
                RULE,
                f"mount {me.mnt_id} at {mountpoint} was found external by criu dump (--external mnt[]); restore "
                "needs --ext-mount-map auto to mount it from its recorded source again",
                severity="warning",
                fix="restore with --ext-mount-map auto (container runtimes pass it)",
                criu_error=f"Mount {me.mnt_id}:{mountpoint} is autodetected external mount. "
                'Try "--ext-mount-map auto" to allow them.',
                **where,
            )
            continue
        if key and key in keys:
            continue
        given = bool(keys)
        yield make(
            RULE,
            f"mount {me.mnt_id} at {mountpoint} is external (key {key or '(legacy ext_mount)'}): its contents are "
            f"not in the checkpoint and criu restore mounts whatever --external mnt[{key}]:PATH names"
            + (
                ", which the restore options do not give"
                if given
                else "; a container runtime (podman, CRI-O, runc) passes these, a plain criu restore must"
            ),
            severity=None if given else "warning",
            criu_error=f"mnt: No mapping for {me.mnt_id}:{mountpoint} mountpoint",
            **where,
        )


RULE = Rule(
    code="CRI028",
    title="external mount without its --external mapping",
    category="namespaces",
    severity="error",
    rationale=(
        "A checkpoint of a tree with its own mount namespace (a container) records its bind mounts from "
        "the host (volumes, /etc/hosts, /etc/resolv.conf, secrets) as external mounts: mountpoints-N.img "
        "keeps only a key (dumped with --external mnt[PATH]:KEY). criu restore looks every key up in its "
        "--external mnt[KEY]:PATH options and stops at the first it is not given. Container runtimes pass "
        "the mappings themselves; a plain criu restore must. Without any mapping given this is a warning "
        "(the restore tool is assumed to add them); with mappings given, a missing key is an error."
    ),
    fix="restore with --external mnt[KEY]:PATH for each key (or through the container runtime that dumped it)",
    criu_error="mnt: No mapping for MNT_ID:MOUNTPOINT mountpoint",
    check=check,
)
