"""JSON of show's focused views: net, mounts, stats, sockets (docs/show-views.md).

One object per run: ``{"version": 1, "view": NAME, "path": ..., NAME: {...},
"problems": [...], "problems_omitted": N}``. Versioned like show's JSON:
fields are added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict

VIEWS_JSON_VERSION = 1


def net_dict(view) -> dict:
    return {
        "container": view.container,
        "network_status": {
            "file": view.status_file,
            "format": view.status_format,
            "networks": [asdict(n) for n in view.networks],
        },
        "ports": [asdict(p) for p in view.ports],
        "pod_ips": view.pod_ips,
        "namespaces": [asdict(ns) for ns in view.namespaces],
        "host_netns_pids": view.host_netns_pids,
    }


def mounts_dict(view) -> dict:
    return {
        "container": view.container,
        "spec": {"found": view.spec_file, "mounts": [asdict(m) for m in view.spec_mounts]},
        "namespaces": [
            {"id": ns, "mounts": [_mount(m) for m in view.dumped if m.ns_id == ns]} for ns in view.namespaces
        ],
    }


def _mount(m) -> dict:
    out = asdict(m)
    del out["ns_id"]
    return out


def _stats_file(part) -> dict | None:
    if part is None:
        return None
    return {
        "file": part.file,
        "values": {s.name: s.value for s in part.stats},
        "units": {s.name: s.unit for s in part.stats},
    }


def stats_dict(view) -> dict:
    return {"dump": _stats_file(view.dump), "restore": _stats_file(view.restore)}


def sockets_list(rows, pids=None) -> list[dict]:
    return [asdict(r) for r in rows if not pids or r.pid in pids]


def view_document(cp, view: str, data) -> dict:
    return {
        "version": VIEWS_JSON_VERSION,
        "view": view,
        "path": cp.origin,
        view: data,
        "problems": [p.one_line() for p in cp.problems],
        "problems_omitted": cp.problems_omitted,
    }
