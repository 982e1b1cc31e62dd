"""Text of show's focused views: net, mounts, stats, sockets (data from inspector/views/)."""

from __future__ import annotations

from ..textfmt import counted, human_bytes
from .textout import Block, Heading, Table


def net_blocks(view) -> list[Block]:
    out: list[Block] = [Heading("container networks (network.status)")]
    if view.status_file is None:
        out.append(
            "  none: "
            + (
                "the container directory has no network.status"
                if view.container
                else "not a container checkpoint (network.status is Podman's, beside checkpoint/)"
            )
        )
    else:
        fmt = {"podman": "Podman >= 4 format", "cni": "CNI results, Podman < 4"}.get(view.status_format, "unreadable")
        out.append(f"  {view.status_file} ({fmt})")
        if not view.networks:
            out.append("  none: no network (the container had no network namespace of its own, or it is empty)")
        else:
            t = Table(["network", "interface", "mac", "address", "gateway"])
            for i, net in enumerate(view.networks):
                name = net.name if net.name is not None else f"#{i}"
                for iface in net.interfaces or [None]:
                    label = iface.name if iface else "(none)"
                    if iface and view.status_format == "cni" and not iface.sandbox:
                        label += " (host side)"  # a CNI result also lists the bridge and the host's veth end
                    for s in (iface.subnets if iface else None) or [None]:
                        t.add(name, label, iface.mac if iface else "", s.ipnet if s else "", s.gateway if s else "")
            out.append(t)
            for i, net in enumerate(view.networks):
                if net.dns_servers or net.dns_search:
                    name = net.name if net.name is not None else f"#{i}"
                    out.append(
                        f"  dns of {name}: {', '.join(net.dns_servers) or '-'}"
                        + (f"; search {', '.join(net.dns_search)}" if net.dns_search else "")
                    )
    if view.pod_ips:
        out.append(Heading("pod IPs (CRI-O: spec.dump annotations io.kubernetes.cri-o.IP.N)"))
        out.append("  " + ", ".join(view.pod_ips))
    if view.container:
        out.append(Heading("published ports (config.dump)"))
        if not view.ports:
            out.append("  none")
        else:
            t = Table(["host address", "host port", "container port", "protocol"])
            for p in view.ports:
                t.add(
                    p.host_ip or "0.0.0.0",
                    _port_span(p.host_port, p.range),
                    _port_span(p.container_port, p.range),
                    p.protocol,
                )
            out.append(t)
    out.append(Heading("network namespaces dumped by CRIU"))
    if not view.namespaces:
        out.append(
            "  none: no netdev-*.img; the tasks ran in the network namespace criu ran in, and a restore puts "
            "them in the restoring criu's"
        )
    for ns in view.namespaces:
        pids = ", ".join(map(str, ns.pids)) or "none of the tree's"
        ext = f", external (key {ns.ext_key}): restored into an existing namespace" if ns.ext_key else ""
        out.append(f"  namespace {ns.id} (pids {pids}){ext}")
        if ns.devices:
            t = Table(["ifindex", "name", "type", "mtu", "flags", "mac", "peer", "addresses"])
            for d in ns.devices:
                addrs = ", ".join(f"{a.address}/{a.prefix}" for a in ns.addresses if a.ifindex == d.ifindex)
                peer = f"ifindex {d.peer_ifindex}" if d.peer_ifindex is not None and d.type == "VETH" else ""
                if peer and d.peer_nsid is not None:
                    peer += f" (nsid {d.peer_nsid})"
                if d.master is not None:
                    peer = (peer + ", " if peer else "") + f"master {d.master}"
                t.add(d.ifindex, d.name, d.type, d.mtu, ",".join(d.flags), d.mac or "", peer, addrs)
            out.append(t)
        raw = [f"{r.name} ({human_bytes(r.bytes)})" for r in ns.images if not r.name.startswith(("netdev-", "netns-"))]
        if raw:
            out.append("  raw dumps (ip/iptables/nft output, restored by running those tools): " + ", ".join(raw))
    if view.namespaces and view.host_netns_pids:
        out.append(
            f"  in criu's own network namespace (nothing dumped for it): pids "
            f"{', '.join(map(str, view.host_netns_pids))}"
        )
    return out


def _port_span(first: int | None, count: int) -> str:
    """8080, or 15353-15354 for a mapping of 2 ports (podman's ``range``)."""
    if first is None:
        return ""
    return f"{first}-{first + count - 1}" if count > 1 else str(first)


def mounts_blocks(view) -> list[Block]:
    out: list[Block] = [Heading("container mounts (spec.dump)")]
    if not view.spec_file:
        out.append(
            "  none: "
            + (
                "the container directory has no readable spec.dump"
                if view.container
                else "not a container checkpoint (spec.dump is the engine's, beside checkpoint/)"
            )
        )
    elif not view.spec_mounts:
        out.append("  none: spec.dump lists no mounts")
    else:
        t = Table(["destination", "type", "source", "options"])
        for m in view.spec_mounts:
            t.add(m.destination, m.type or "", m.source or "", ",".join(m.options))
        out.append(t)
    out.append(Heading("mount namespaces dumped by CRIU (mountpoints-*.img)"))
    if not view.namespaces:
        out.append("  none: no mount namespace of its own (the tasks shared criu's)")
    for ns in view.namespaces:
        mounts = [m for m in view.dumped if m.ns_id == ns]
        t = Table(
            ["id", "parent", "mountpoint", "fstype", "source", "root", "flags", "options", "external"],
            title=f"  namespace {ns}: {counted(len(mounts), 'mount')}",
        )
        for m in mounts:
            flags = (
                ",".join(m.flags)
                + (f",shared:{m.shared_id}" if m.shared_id else "")
                + (f",master:{m.master_id}" if m.master_id else "")
                + (",deleted" if m.deleted else "")
            )
            t.add(
                m.mnt_id,
                m.parent_mnt_id,
                m.mountpoint,
                m.fstype,
                m.source or "",
                m.root,
                flags,
                m.options or "",
                m.external or "",
            )
        out.append(t)
    return out


def _stat_value(s) -> str:
    if s.unit == "us":
        return f"{s.value} us ({s.value / 1000:.3f} ms)" if s.value >= 1000 else f"{s.value} us"
    if s.unit == "pages":
        return f"{s.value} ({human_bytes(s.bytes)})"
    return str(s.value)


def stats_blocks(view) -> list[Block]:
    out: list[Block] = []
    for part, what, missing in (
        (view.dump, "dump statistics", "no stats-dump (criu writes it at the end of every dump)"),
        (view.restore, "restore statistics", "no stats-restore (criu writes it when it restores from this directory)"),
    ):
        out.append(Heading(what + (f" ({part.file})" if part is not None else "")))
        if part is None:
            out.append(f"  none: {missing}")
        elif not part.stats:
            out.append(f"  none: the file has no {part.kind} entry")
        else:
            t = Table(["statistic", "value"])
            for s in part.stats:
                t.add(s.label, _stat_value(s))
            out.append(t)
    return out


def sockets_blocks(rows, pids=None) -> list[Block]:
    rows = [r for r in rows if not pids or r.pid in pids]
    if not rows:
        return ["no sockets" + (" in these processes" if pids else "")]
    t = Table(
        [
            "pid",
            "fd",
            "family",
            "type",
            "state",
            "local",
            "peer",
            "inode",
            "peer inode",
            "peer held by",
            "netns",
            "recv-q",
            "send-q",
        ]
    )
    for r in rows:
        kind = r.proto or r.type if r.family != "UNIX" else r.type
        t.add(
            r.pid,
            r.fd,
            r.family,
            kind,
            r.state,
            r.local or "",
            r.peer or "",
            r.ino,
            r.peer_ino or "",
            r.peer_owner or "",
            r.netns,
            _opt(r.recv_queue),
            _opt(r.send_queue),
        )
    return [t]


def _opt(value) -> str:
    return "" if value is None else str(value)
