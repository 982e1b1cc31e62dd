"""The network-lock method recorded at dump decides what restoring connections needs."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make
from ._inet import connections


def check(cp, target):
    inv = cp.inventory_flags
    if inv is None or target.privileged or not target.tcp_established or target.tcp_close:
        return
    conns = connections(cp)
    if not conns:
        return
    method = inv.network_lock_method or "iptables"  # criu's default when the dump recorded none
    if method == "skip":
        return
    proc, fd = conns[0]
    where = dict(pid=proc.pid, fd=fd.fd, image="inventory.img", details={"method": method, "connections": len(conns)})
    if method == "iptables":
        yield make(
            RULE,
            f"{len(conns)} connection(s) were locked with iptables at dump; after restoring them criu runs "
            "iptables-restore to unlock each one, and that child runs as the restoring user without "
            "criu's file capabilities, so it cannot change the firewall. criu logs the failure and goes on: "
            "the restore succeeds, but if the dump's DROP rules are on this host the connections stay blocked",
            **where,
        )
    elif not has_cap(target, "NET_ADMIN"):
        yield make(
            RULE,
            f"{len(conns)} connection(s) were locked with nftables at dump; removing the lock needs "
            "CAP_NET_ADMIN. criu logs the failure and goes on: the restore succeeds, but if the lock table "
            "is on this host the connections stay blocked",
            fix="grant the restorer CAP_NET_ADMIN (--cap NET_ADMIN; the image already uses nftables), restore "
            "with --tcp-close, or restore as root",
            **where,
        )


RULE = Rule(
    code="CRI015",
    title="network lock method needs privilege at restore",
    category="network",
    severity="warning",
    rationale=(
        "While a TCP connection is dumped and restored, criu keeps packets away from it with a "
        "firewall rule: iptables (the default, inventory network_lock_method 0) or nftables. After "
        "the restore criu removes those rules (network_unlock()). With iptables criu executes the "
        "iptables tools, which need CAP_NET_ADMIN in their own right: they do not inherit the file "
        "capabilities of a setcap'ed criu; nftables works with CAP_NET_ADMIN. The unlock is best "
        "effort: criu logs a failure and the restore still succeeds, so this is a warning: restored "
        "on the dumping host, the connections stay behind the dump's DROP rules until root removes them."
    ),
    fix="dump with --network-lock nftables (then restore with CAP_NET_ADMIN) or --network-lock skip, restore with --tcp-close, or restore as root",
    criu_error=None,
    check=check,
)
