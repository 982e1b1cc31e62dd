"""``show A B C``: one line per checkpoint (checkpointctl ``show``'s table), then the ones that could not be read."""

from __future__ import annotations

from ..textfmt import human_bytes
from .textout import Block, Heading, Table
from .textout import emit as emit_blocks


def blocks(rows: list[dict]) -> list[Block]:
    columns = ["checkpoint", "engine", "container", "created", "criu", "procs", "threads", "fds", "memory"]
    t = Table([*columns, "in parent", "images"])
    for r in rows:
        if r["error"] and r["processes"] is None:
            continue
        t.add(
            r["path"],
            r["engine"] or (r["source"] if r["source"] not in (None, "images") else ""),
            r["container"],
            r["checkpointed"] or r["created"],
            r["criu"],
            r["processes"],
            r["threads"],
            r["fds"],
            _bytes(r["memory_present"]),
            _bytes(r["memory_in_parent"]),
            _bytes(r["images_bytes"]),
        )
    out: list[Block] = [_without_empty_columns(t)]
    failed = [r for r in rows if r["error"]]
    if failed:
        out.append(Heading("could not read", style="bold red"))
        out += [f"  {r['error']}" for r in failed]
    out.append(f"{len(rows)} checkpoint(s), {len(failed)} with errors")
    return out


def _without_empty_columns(t: Table) -> Table:
    """Bare image directories have no engine or container name: do not print columns of blanks."""
    keep = [i for i, _ in enumerate(t.columns) if i == 0 or any(row[i] for row in t.rows)]
    return Table([t.columns[i] for i in keep], [[row[i] for i in keep] for row in t.rows], t.title)


def _bytes(n: int | None) -> str:
    return "" if n is None else human_bytes(n)


def emit(rows: list[dict]) -> None:
    emit_blocks(blocks(rows))
