"""The network-lock method recorded at dump decides what restoring connections needs."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make
from ._inet import connections


def check(cp, target):
    inv = cp.inventory
    if inv is None or target.privileged or not target.tcp_established or target.tcp_close:
        return
    conns = connections(cp)
    if not conns:
        return
    method = names.NETWORK_LOCK_METHOD.get(inv.network_lock_method, str(inv.network_lock_method)) \
        if inv.HasField("network_lock_method") else "iptables"
    if method == "skip":
        return
    proc, fd = conns[0]
    where = dict(pid=proc.pid, fd=fd.fd, image="inventory.img", details={"method": method, "connections": len(conns)})
    if method == "iptables":
        yield make(
            RULE,
            f"{len(conns)} connection(s) were locked with iptables at dump; restoring them makes criu run "
            "iptables-restore to unlock each one, and that child runs as the restoring user without "
            "criu's file capabilities, so it cannot change the firewall",
            **where,
        )  # fmt: skip
    elif not has_cap(target, "NET_ADMIN"):
        yield make(
            RULE,
            f"{len(conns)} connection(s) were locked with nftables at dump; unlocking them needs CAP_NET_ADMIN",
            criu_error="", **where,
        )  # fmt: skip


RULE = Rule(
    code="CRI015",
    title="network lock method needs privilege at restore",
    category="network",
    severity="error",
    rationale=(
        "While a TCP connection is dumped and restored, criu keeps packets away from it with a "
        "firewall rule: iptables (the default, inventory network_lock_method 0) or nftables. The "
        "restore removes those rules. With iptables criu executes the iptables tools, which need "
        "CAP_NET_ADMIN in their own right: they do not inherit the file capabilities of a setcap'ed "
        "criu, so an unprivileged restore of connections fails; nftables works with CAP_NET_ADMIN."
    ),
    fix="dump with --network-lock nftables (then restore with CAP_NET_ADMIN) or --network-lock skip, restore with --tcp-close, or restore as root",
    criu_error="iptables-restore: Permission denied (you must be root)",
    check=check,
)
