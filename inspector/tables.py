"""pandas DataFrames of one checkpoint (processes, threads, fds, VMAs, sockets, mounts, findings) and of a scan.

Imported only by ``scan`` and ``export`` (pandas costs ~0.3 s to import; ``--help`` must stay fast).
Columns and dtypes are fixed here and listed in docs/tables.md; nullable dtypes (``Int64``,
``string``, ``boolean``) keep "unknown" apart from 0 and "", and survive parquet.
"""

from __future__ import annotations

import pandas as pd

from .model.names import PAGE_SIZE

# table -> [(column, dtype)]: the documented schema (docs/tables.md); every frame is built to it
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "processes": [
        ("checkpoint", "string"),
        ("pid", "Int64"),
        ("ppid", "Int64"),
        ("pgid", "Int64"),
        ("sid", "Int64"),
        ("comm", "string"),
        ("state", "string"),
        ("uid", "Int64"),
        ("threads", "Int64"),
        ("fds", "Int64"),
        ("vmas", "Int64"),
        ("memory_present", "Int64"),
        ("memory_lazy", "Int64"),
        ("memory_in_parent", "Int64"),
        ("exe", "string"),
        ("cwd", "string"),
        ("cmdline", "string"),
    ],
    "threads": [("checkpoint", "string"), ("pid", "Int64"), ("tid", "Int64")],
    "fds": [
        ("checkpoint", "string"),
        ("pid", "Int64"),
        ("fd", "Int64"),
        ("type", "string"),
        ("path", "string"),
        ("open_flags", "Int64"),
        ("pos", "Int64"),
        ("size", "Int64"),
        ("mode", "Int64"),
        ("deleted", "boolean"),
        ("peer", "string"),
    ],
    "vmas": [
        ("checkpoint", "string"),
        ("pid", "Int64"),
        ("start", "UInt64"),
        ("end", "UInt64"),
        ("size", "UInt64"),
        ("prot", "string"),
        ("path", "string"),
        ("pages_present", "Int64"),
        ("pages_lazy", "Int64"),
        ("pages_in_parent", "Int64"),
    ],
    "sockets": [
        ("checkpoint", "string"),
        ("pid", "Int64"),
        ("fd", "Int64"),
        ("family", "string"),
        ("type", "string"),
        ("state", "string"),
        ("src", "string"),
        ("dst", "string"),
        ("ino", "Int64"),
        ("peer_ino", "Int64"),
        ("external_peer", "boolean"),
    ],
    "mounts": [
        ("checkpoint", "string"),
        ("mnt_id", "Int64"),
        ("parent_mnt_id", "Int64"),
        ("mountpoint", "string"),
        ("root", "string"),
        ("source", "string"),
        ("options", "string"),
        ("external", "boolean"),
    ],
    "findings": [
        ("checkpoint", "string"),
        ("target", "string"),
        ("code", "string"),
        ("severity", "string"),
        ("pid", "Int64"),
        ("fd", "Int64"),
        ("message", "string"),
    ],
}
CHECKPOINT_TABLES = tuple(SCHEMAS)

SCAN_COLUMNS: list[tuple[str, str]] = [
    ("path", "string"),
    ("source", "string"),
    ("archive", "string"),
    ("container", "string"),
    ("image", "string"),
    ("criu", "string"),
    ("created", "datetime64[us, UTC]"),
    ("processes", "Int64"),
    ("threads", "Int64"),
    ("fds", "Int64"),
    ("vmas", "Int64"),
    ("memory_present", "Int64"),
    ("memory_lazy", "Int64"),
    ("memory_in_parent", "Int64"),
]
SCAN_TAIL: list[tuple[str, str]] = [
    ("top_codes", "string"),
    ("secrets", "boolean"),
    ("error", "string"),
    ("seconds", "float64"),
]


def frame(rows: list[dict], schema: list[tuple[str, str]]) -> pd.DataFrame:
    """A DataFrame with exactly the schema's columns and dtypes (an empty table keeps them too)."""
    df = pd.DataFrame.from_records(rows, columns=[c for c, _ in schema])
    for column, dtype in schema:
        if dtype.startswith("datetime64"):
            df[column] = pd.to_datetime(df[column], utc=True, errors="coerce", format="ISO8601").astype(dtype)
        else:
            df[column] = df[column].astype(dtype)
    return df


def _prot(p: int) -> str:
    return ("r" if p & 1 else "-") + ("w" if p & 2 else "-") + ("x" if p & 4 else "-")


def checkpoint_tables(cp, reports: dict | None = None, name: str | None = None) -> dict[str, pd.DataFrame]:
    """Every table of one checkpoint; ``reports`` (target -> CheckReport) gives the findings table."""
    ck = name or cp.shown_path
    rows: dict[str, list[dict]] = {t: [] for t in SCHEMAS}
    for p in cp.processes:
        rows["processes"].append(
            {
                "checkpoint": ck,
                "pid": p.pid,
                "ppid": p.ppid,
                "pgid": p.pgid,
                "sid": p.sid,
                "comm": p.comm,
                "state": p.state,
                "uid": p.uid,
                "threads": len(p.threads),
                "fds": len(p.fds),
                "vmas": len(p.vmas),
                "memory_present": p.pages.present * PAGE_SIZE,
                "memory_lazy": p.pages.lazy * PAGE_SIZE,
                "memory_in_parent": p.pages.in_parent * PAGE_SIZE,
                "exe": p.exe,
                "cwd": p.cwd,
                "cmdline": " ".join(p.cmdline) if p.cmdline else None,
            }
        )
        rows["threads"] += [{"checkpoint": ck, "pid": p.pid, "tid": t} for t in p.threads]
        for f in p.fds:
            rows["fds"].append(
                {
                    "checkpoint": ck,
                    "pid": p.pid,
                    "fd": f.fd,
                    "type": f.type,
                    "path": f.path,
                    "open_flags": f.open_flags,
                    "pos": f.pos,
                    "size": f.size,
                    "mode": f.mode,
                    "deleted": f.deleted,
                    "peer": f.peer or f.note,
                }
            )
            s = f.socket
            if s is not None:
                rows["sockets"].append(
                    {
                        "checkpoint": ck,
                        "pid": p.pid,
                        "fd": f.fd,
                        "family": s.family,
                        "type": s.type,
                        "state": s.state,
                        "src": s.src,
                        "dst": s.dst,
                        "ino": s.ino,
                        "peer_ino": s.peer_ino,
                        "external_peer": s.external_peer,
                    }
                )
        for v in p.vmas:
            rows["vmas"].append(
                {
                    "checkpoint": ck,
                    "pid": p.pid,
                    "start": v.start,
                    "end": v.end,
                    "size": v.end - v.start,
                    "prot": _prot(v.prot),
                    "path": v.path,
                    "pages_present": v.pages_present,
                    "pages_lazy": v.pages_lazy,
                    "pages_in_parent": v.pages_in_parent,
                }
            )
    for m in cp.mounts():
        rows["mounts"].append(
            {
                "checkpoint": ck,
                "mnt_id": m.mnt_id,
                "parent_mnt_id": m.parent_mnt_id,
                "mountpoint": m.mountpoint,
                "root": m.root,
                "source": m.source,
                "options": m.options,
                "external": m.ext,
            }
        )
    for target, report in (reports or {}).items():
        for f in report.findings:
            rows["findings"].append(
                {
                    "checkpoint": ck,
                    "target": target,
                    "code": f.code,
                    "severity": f.severity,
                    "pid": f.pid,
                    "fd": f.fd,
                    "message": f.message,
                }
            )
    return {t: frame(rows[t], SCHEMAS[t]) for t in SCHEMAS}


def scan_schema(targets: list[str]) -> list[tuple[str, str]]:
    per_target = []
    for t in targets:
        per_target += [(f"verdict_{t}", "string"), (f"errors_{t}", "Int64"), (f"warnings_{t}", "Int64")]
    return SCAN_COLUMNS + per_target + SCAN_TAIL


def scan_frame(rows: list[dict], targets: list[str]) -> pd.DataFrame:
    """One row per checkpoint, the verdicts and counts of each target as columns of their own."""
    flat = []
    for r in rows:
        f = {c: r.get(c) for c, _ in SCAN_COLUMNS}
        for t in targets:
            f[f"verdict_{t}"] = r["verdicts"].get(t)
            f[f"errors_{t}"] = r["errors"].get(t)
            f[f"warnings_{t}"] = r["warnings"].get(t)
        f["top_codes"] = ",".join(r["top_codes"]) or None
        f["secrets"] = r["secrets"]
        f["error"] = r["error"]
        f["seconds"] = r["seconds"]
        flat.append(f)
    return frame(flat, scan_schema(targets))


def scan_rows(df: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """Rows (as ``scan_one`` makes them) back from a scan table read from parquet or CSV: for --since."""
    targets = [c.removeprefix("verdict_") for c in df.columns if c.startswith("verdict_")]
    rows = []
    for rec in df.to_dict("records"):
        row = {"path": rec["path"], "verdicts": {}, "errors": {}, "warnings": {}}
        for t in targets:
            v = rec.get(f"verdict_{t}")
            row["verdicts"][t] = None if pd.isna(v) else v
        rows.append(row)
    return rows, targets
