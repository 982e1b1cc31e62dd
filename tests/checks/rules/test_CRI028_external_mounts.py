"""CRI028 (external mounts) on a real checkpoint given the mount image a container checkpoint has.

The corpus has no mount namespace, so these tests copy `plain`, decode inventory.img, give root_ids another
mnt namespace id (the root task now ran in a mount namespace of its own, as in a container) and encode it
again, then add the mountpoints-6.img CRIU writes for that namespace (framed as CRIU frames it): the root
mount, a bind mount of the host's /etc/hosts dumped as --external mnt[/etc/hosts]:hosts, and one found
by --external mnt[] (CRIU:AUTODETECTED).
"""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import ROOT, edit, found
from tests.codec.test_decode_crit_synth import msg, write_image


def _container_like(writable_copy, name="mnt-ns"):
    d = writable_copy("plain", name)
    edit(d, "inventory.img", lambda inv: setattr(inv.root_ids, "mnt_ns_id", 902))
    common = dict(fstype=2, root_dev=0x803, flags=0, root="/", options="rw", source="/dev/sda3")
    entries = [
        msg("mnt_pb2", "mnt_entry", mnt_id=100, parent_mnt_id=99, mountpoint="/", **common),
        msg("mnt_pb2", "mnt_entry", mnt_id=101, parent_mnt_id=100, mountpoint="/etc/hosts", ext_key="hosts", **common),
        msg(
            "mnt_pb2",
            "mnt_entry",
            mnt_id=102,
            parent_mnt_id=100,
            mountpoint="/data",
            ext_key="CRIU:AUTODETECTED",
            **common,
        ),
    ]
    write_image(d / "mountpoints-6.img", "MNTS", [(m, b"") for m in entries])
    return d


def test_cri028_external_mount_needs_its_mapping(writable_copy):
    """criu/mount.c: each ext_key is looked up among the --external mnt[KEY]:PATH options ("No mapping for
    %d:%s mountpoint"); CRIU:AUTODETECTED ones need --ext-mount-map auto."""
    d = _container_like(writable_copy)
    plain = found(d, ROOT, "CRI028")
    assert {(f.details["ext_key"], f.severity) for f in plain} == {
        ("hosts", "warning"),
        ("CRIU:AUTODETECTED", "warning"),
    }
    hosts = next(f for f in plain if f.details["ext_key"] == "hosts")
    assert hosts.criu_error == "mnt: No mapping for 101:/etc/hosts mountpoint" and hosts.image == "mountpoints-6.img"
    # mappings given, this one missing: the restore stops there
    other = Target(kind="root", externals=("mnt[resolv]:/etc/resolv.conf",))
    assert [f.details["ext_key"] for f in found(d, other, "CRI028", "error")] == ["hosts"]
    mapped = Target(kind="root", externals=("mnt[hosts]:/etc/hosts",))
    assert not found(d, mapped, "CRI028", "error")
    assert [f.details["ext_key"] for f in found(d, mapped, "CRI028")] == ["CRIU:AUTODETECTED"]


def test_cri028_cli_external_option(writable_copy, cli):
    d = _container_like(writable_copy, "mnt-ns-cli")
    proc = cli(
        "check", str(d), "--target", "root", "--select", "CRI028", "--external", "mnt[other]:/x", "--format", "json"
    )
    assert proc.returncode == 1, proc.stderr
    assert '"externals": [' in proc.stdout and "mnt[other]:/x" in proc.stdout
    ok = cli("check", str(d), "--target", "root", "--select", "CRI028", "--external", "mnt[hosts]:/etc/hosts")
    assert ok.returncode == 0, ok.stdout
    assert not found(writable_copy("plain", "untouched"), ROOT, "CRI028")
