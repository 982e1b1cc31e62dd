"""show net: the container's networks as the engine recorded them, and the network namespaces CRIU dumped.

Podman writes ``network.status`` beside ``checkpoint/`` when it checkpoints
(libpod/container_internal_common.go, checkpoint(): ``WriteJSONFile(c.getNetworkStatus(), ...)``)
and reads it back on restore to give the container the same IPs and MACs.
Two formats exist:

- Podman >= 4.0 (netavark or CNI backends): a map of network name ->
  ``types.StatusBlock`` (containers/common libnetwork/types/network.go):
  ``{"podman": {"interfaces": {"eth0": {"subnets": [{"ipnet": "10.88.0.9/16",
  "gateway": "10.88.0.1"}], "mac_address": "f2:99:..."}}, "dns_server_ips": [...],
  "dns_search_domains": [...]}}``. checkpointctl reads this one
  (lib/metadata.go ``PodmanNetworkStatus``, internal/container.go ``getPodmanInfo``).
- Podman < 4.0: a list of CNI results, one per network, unnamed
  (``[]*cnitypes.Result``; checkpointctl read it so until commit 32e875e):
  ``[{"cniVersion": "0.4.0", "interfaces": [{"name", "mac", "sandbox"}],
  "ips": [{"version", "interface": INDEX, "address": "10.88.0.5/16", "gateway"}]}]``.

Published ports are in ``config.dump`` (``newPortMappings``, libpod/container_config.go;
``portMappings`` before Podman 4.0). CRI-O writes no network.status: its pod's
IPs are annotations of ``spec.dump``, ``io.kubernetes.cri-o.IP.0``, ``.1``, ...
(checkpointctl internal/container.go ``getCRIOInfo``).

CRIU dumps a network namespace of the tree's own (not the one criu runs in)
as images named by its namespace id N (criu/net.c): ``netdev-N.img`` (one
entry per link: name, type, ifindex, MTU, flags, MAC, veth peer),
``netns-N.img`` (sysctls, ids of other namespaces), and raw dumps of the
tools it runs: ``ifaddr-N.img`` (``ip addr save``, criu/net.c dump_ifaddr),
``route-N.img``, ``route6-N.img``, ``rule-N.img`` (``ip route/rule save``),
``iptables-N.img``, ``ip6tables-N.img`` (``iptables-save``), ``nftables-N.img``.
Of the raw ones only ifaddr is read (its addresses); the rest are listed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
from dataclasses import dataclass, field

from ..errors import InspectError
from ..safeio import open_regular_file
from .container import UNREADABLE, container_dir, engine_file, load_json, shown

STATUS_FILE = "network.status"
NETNS_IMAGE = re.compile(r"^(netdev|netns|ifaddr|route6?|rule|ip6?tables|nftables|netns-ct)-(\d+)\.img$")
MAX_IFADDR_BYTES = 16 << 20  # `ip addr save` of a namespace: a few hundred bytes per address

# linux/if.h net_device_flags
IFF_FLAGS = [
    (0x1, "UP"),
    (0x2, "BROADCAST"),
    (0x4, "DEBUG"),
    (0x8, "LOOPBACK"),
    (0x10, "POINTOPOINT"),
    (0x20, "NOTRAILERS"),
    (0x40, "RUNNING"),
    (0x80, "NOARP"),
    (0x100, "PROMISC"),
    (0x200, "ALLMULTI"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x1000, "MULTICAST"),
    (0x2000, "PORTSEL"),
    (0x4000, "AUTOMEDIA"),
    (0x8000, "DYNAMIC"),
    (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
    (0x40000, "ECHO"),
]


@dataclass
class Subnet:
    ipnet: str  # "10.88.0.9/16": the interface's address with its prefix, as the file has it
    ip: str | None  # "10.88.0.9"
    prefix: int | None
    gateway: str | None


@dataclass
class Interface:
    name: str
    mac: str | None
    subnets: list[Subnet] = field(default_factory=list)
    sandbox: str | None = None  # CNI only: the netns path; host-side interfaces have none


@dataclass
class Network:
    name: str | None  # None in the old CNI format (a list, in the order of the container's networks)
    interfaces: list[Interface] = field(default_factory=list)
    dns_servers: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)


@dataclass
class PortMapping:
    host_ip: str | None
    host_port: int | None
    container_port: int | None
    range: int
    protocol: str


@dataclass
class NetDevice:
    """One link of a dumped network namespace (netdev-N.img)."""

    name: str
    type: str  # LOOPBACK, VETH, TUN, EXTLINK, BRIDGE, MACVLAN, SIT, ...
    ifindex: int
    mtu: int
    flags: list[str]
    mac: str | None
    peer_ifindex: int | None = None  # veth: the other end's ifindex...
    peer_nsid: int | None = None  # ...in this namespace id (as the kernel numbers it)
    master: int | None = None  # ifindex of the bridge it is enslaved to


@dataclass
class IfAddress:
    """One address of ``ip addr save`` (ifaddr-N.img)."""

    ifindex: int
    label: str | None
    family: str  # inet, inet6
    address: str
    prefix: int


@dataclass
class RawImage:
    name: str
    bytes: int


@dataclass
class NetNamespace:
    """A network namespace CRIU dumped (its images end in -ID.img)."""

    id: int
    pids: list[int]
    devices: list[NetDevice] = field(default_factory=list)
    addresses: list[IfAddress] = field(default_factory=list)
    images: list[RawImage] = field(default_factory=list)
    ext_key: str | None = None  # --external net[INODE]:KEY: restored into an existing namespace


@dataclass
class NetView:
    container: bool  # a container checkpoint (engine files beside the images)
    status_file: str | None  # network.status as shown to the user, None when there is none
    status_format: str | None  # "podman" (map of networks), "cni" (list of CNI results), None
    networks: list[Network] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)
    pod_ips: list[str] = field(default_factory=list)  # CRI-O: the pod's IPs, from spec.dump's annotations
    namespaces: list[NetNamespace] = field(default_factory=list)
    host_netns_pids: list[int] = field(default_factory=list)  # tasks in the namespace criu itself ran in


def net_view(cp) -> NetView:
    view = NetView(container=container_dir(cp) is not None, status_file=None, status_format=None)
    path = engine_file(cp, STATUS_FILE)
    if path is not None:
        where = view.status_file = shown(cp, path)
        status = load_json(cp, STATUS_FILE)
        if status is not UNREADABLE:
            cp._soft(_fill_status, view, status, where)
    config = load_json(cp, "config.dump") if view.container else None
    if isinstance(config, dict):
        view.ports = port_mappings(config)
    spec = load_json(cp, "spec.dump") if view.container else None
    if isinstance(spec, dict):
        view.pod_ips = crio_pod_ips(spec)
    view.namespaces, view.host_netns_pids = dumped_namespaces(cp)
    return view


# --- network.status ---------------------------------------------------------------


def _fill_status(view: NetView, status, where: str) -> None:
    if status is None:  # `null`: podman wrote an empty status (no network namespace of its own)
        view.status_format = "podman"
        return
    if isinstance(status, dict):
        view.status_format = "podman"
        view.networks = [_podman_network(name, block, where) for name, block in sorted(status.items())]
    elif isinstance(status, list):
        view.status_format = "cni"
        view.networks = [_cni_network(result, where, i) for i, result in enumerate(status)]
    else:
        raise InspectError(
            where,
            f"neither a map of networks (Podman >= 4) nor a list of CNI results "
            f"(Podman < 4): a JSON {type(status).__name__}",
        )


def _expect(value, kind, where: str, what: str):
    if value is None:
        return kind()
    if not isinstance(value, kind):
        wanted = "an object" if kind is dict else "an array"
        raise InspectError(where, f"{what} is a JSON {type(value).__name__}, not {wanted}")
    return value


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value) -> list:
    """A JSON array, or nothing: the engine's files are read as found, a wrong type is not iterated."""
    return value if isinstance(value, list) else []


def _subnet(ipnet, gateway) -> Subnet:
    ipnet = _text(ipnet) or ""
    ip, prefix = None, None
    try:
        iface = ipaddress.ip_interface(ipnet)
        ip, prefix = str(iface.ip), iface.network.prefixlen
    except ValueError:
        pass
    return Subnet(ipnet, ip, prefix, _text(gateway))


def _podman_network(name: str, block, where: str) -> Network:
    block = _expect(block, dict, where, f"network {name}")
    net = Network(name)
    for if_name, value in sorted(_expect(block.get("interfaces"), dict, where, f"{name}.interfaces").items()):
        iface = _expect(value, dict, where, f"{name}.interfaces.{if_name}")
        subnets = [
            _subnet(s.get("ipnet"), s.get("gateway"))
            for s in _expect(iface.get("subnets"), list, where, f"{name}.interfaces.{if_name}.subnets")
            if isinstance(s, dict)
        ]
        net.interfaces.append(Interface(if_name, _text(iface.get("mac_address")), subnets))
    net.dns_servers = [
        s for s in _expect(block.get("dns_server_ips"), list, where, f"{name}.dns_server_ips") if isinstance(s, str)
    ]
    net.dns_search = [
        s
        for s in _expect(block.get("dns_search_domains"), list, where, f"{name}.dns_search_domains")
        if isinstance(s, str)
    ]
    return net


def _cni_network(result, where: str, index: int) -> Network:
    result = _expect(result, dict, where, f"CNI result {index}")
    net = Network(None)
    ifaces = [
        i
        for i in _expect(result.get("interfaces"), list, where, f"CNI result {index} interfaces")
        if isinstance(i, dict)
    ]
    for i in ifaces:
        name = _text(i.get("name")) or "?"
        net.interfaces.append(Interface(name, _text(i.get("mac")), sandbox=_text(i.get("sandbox"))))
    for ip in _expect(result.get("ips"), list, where, f"CNI result {index} ips"):
        if not isinstance(ip, dict):
            continue
        at = ip.get("interface")
        subnet = _subnet(ip.get("address"), ip.get("gateway"))
        if isinstance(at, int) and 0 <= at < len(net.interfaces):
            net.interfaces[at].subnets.append(subnet)
        else:  # an address the result ties to no interface
            net.interfaces.append(Interface("?", None, [subnet]))
    dns = result.get("dns") if isinstance(result.get("dns"), dict) else {}
    net.dns_servers = [s for s in _list(dns.get("nameservers")) if isinstance(s, str)]
    net.dns_search = [s for s in _list(dns.get("search")) if isinstance(s, str)]
    return net


def port_mappings(config: dict) -> list[PortMapping]:
    """config.dump's published ports: ``newPortMappings`` (Podman >= 4) or the older ``portMappings``."""
    out = []
    for m in _list(config.get("newPortMappings")):
        if isinstance(m, dict):
            out.append(
                PortMapping(
                    _text(m.get("host_ip")),
                    _int(m.get("host_port")),
                    _int(m.get("container_port")),
                    _int(m.get("range")) or 1,
                    _text(m.get("protocol")) or "tcp",
                )
            )
    if not out:
        for m in _list(config.get("portMappings")):
            if isinstance(m, dict):
                out.append(
                    PortMapping(
                        _text(m.get("hostIP")),
                        _int(m.get("hostPort")),
                        _int(m.get("containerPort")),
                        1,
                        _text(m.get("protocol")) or "tcp",
                    )
                )
    return out


def crio_pod_ips(spec: dict) -> list[str]:
    annotations = spec.get("annotations")
    ann = annotations if isinstance(annotations, dict) else {}
    out: list[str] = []
    while isinstance(ann.get(f"io.kubernetes.cri-o.IP.{len(out)}"), str):
        out.append(ann[f"io.kubernetes.cri-o.IP.{len(out)}"])
    return out


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- CRIU's images --------------------------------------------------------------------


def dumped_namespaces(cp) -> tuple[list[NetNamespace], list[int]]:
    """The network namespaces with images, and the pids that ran in criu's own (none dumped for them)."""
    by_id: dict[int, NetNamespace] = {}
    for name in cp.files:
        m = NETNS_IMAGE.match(name)
        if m:
            ns = by_id.setdefault(int(m.group(2)), NetNamespace(int(m.group(2)), []))
            ns.images.append(RawImage(name, _size(os.path.join(cp.path, name))))
    host = []
    for p in cp.processes:
        ns_id = p.namespaces.get("net")
        if ns_id in by_id:
            by_id[ns_id].pids.append(p.pid)
        else:
            host.append(p.pid)
    for ns in by_id.values():
        ns.devices = cp._soft(_devices, cp, ns.id, default=[])
        ifaddr = f"ifaddr-{ns.id}.img"
        if ifaddr in cp.files:
            ns.addresses = cp._soft(read_ifaddr, os.path.join(cp.path, ifaddr), default=[])
        netns = cp._soft(cp.one, f"netns-{ns.id}.img")
        if netns is not None and netns.HasField("ext_key"):
            ns.ext_key = netns.ext_key
    return sorted(by_id.values(), key=lambda n: n.id), host


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _devices(cp, ns_id: int) -> list[NetDevice]:
    from ..codec.schema import registry
    from ..model.names import flag_names

    types = registry().enum_names("netdev_pb2", "nd_type")
    out = []
    for d in cp.entries(f"netdev-{ns_id}.img"):
        mac = ":".join(f"{b:02x}" for b in d.address) if d.HasField("address") and d.address else None
        out.append(
            NetDevice(
                d.name,
                types.get(d.type, str(d.type)),
                d.ifindex,
                d.mtu,
                flag_names(d.flags, IFF_FLAGS),
                mac,
                d.peer_ifindex if d.HasField("peer_ifindex") else None,
                d.peer_nsid if d.HasField("peer_nsid") else None,
                d.master if d.HasField("master") else None,
            )
        )
    return sorted(out, key=lambda d: d.ifindex)


# `ip addr save` output (iproute2 ip/ipaddress.c): a u32 magic, then RTM_NEWADDR netlink messages
IFADDR_MAGIC = 0x47361222
NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTA = struct.Struct("=HH")  # len, type
RTM_NEWADDR = 20
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
AF_INET, AF_INET6 = 2, 10


def read_ifaddr(path: str) -> list[IfAddress]:
    """The addresses of an ``ip addr save`` dump; every length is checked against the bytes there."""
    with open_regular_file(path) as fh:
        data = fh.read(MAX_IFADDR_BYTES + 1)
    if len(data) > MAX_IFADDR_BYTES:
        raise InspectError(path, f"larger than {MAX_IFADDR_BYTES >> 20} MiB: not an `ip addr save` dump")
    if len(data) < 4 or struct.unpack_from("=I", data)[0] != IFADDR_MAGIC:
        raise InspectError(path, "not an `ip addr save` dump (no magic 0x47361222)", 0)
    out, off = [], 4
    while off < len(data):
        if len(data) - off < NLMSG.size:
            raise InspectError(path, "truncated netlink message header", off)
        length, mtype = NLMSG.unpack_from(data, off)[:2]
        if length < NLMSG.size or length > len(data) - off:
            left = len(data) - off
            raise InspectError(path, f"netlink message length {length} does not fit the {left} bytes left", off)
        if mtype == RTM_NEWADDR and length >= NLMSG.size + IFADDRMSG.size:
            addr = _ifaddr(data, off + NLMSG.size, off + length)
            if addr is not None:
                out.append(addr)
        off += (length + 3) & ~3
    return out


def _ifaddr(data: bytes, start: int, end: int) -> IfAddress | None:
    family, prefix, _flags, _scope, index = IFADDRMSG.unpack_from(data, start)
    attrs: dict[int, bytes] = {}
    off = start + IFADDRMSG.size
    while off + RTA.size <= end:
        rlen, rtype = RTA.unpack_from(data, off)
        if rlen < RTA.size or off + rlen > end:
            break
        attrs.setdefault(rtype, data[off + RTA.size : off + rlen])
        off += (rlen + 3) & ~3
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    if family == AF_INET and raw is not None and len(raw) == 4:
        address, fam = str(ipaddress.IPv4Address(raw)), "inet"
    elif family == AF_INET6 and raw is not None and len(raw) == 16:
        address, fam = str(ipaddress.IPv6Address(raw)), "inet6"
    else:
        return None
    label = attrs.get(IFA_LABEL)
    label_text = label.rstrip(b"\0").decode("utf-8", "backslashreplace") if label else None
    return IfAddress(index, label_text, fam, address, prefix)
