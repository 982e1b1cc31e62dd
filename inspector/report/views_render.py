"""show net|mounts|stats|sockets: compute the view's data (inspector/views/) and print it as text or JSON."""

from __future__ import annotations

import json
import sys

FOCUSED_VIEWS = ("net", "mounts", "stats", "sockets")


def view_data(cp, view: str):
    """The view's dataclasses, from the model (what cannot be read lands in cp.problems)."""
    if view == "net":
        from ..views.net import net_view

        return net_view(cp)
    if view == "mounts":
        from ..views.mounts import mounts_view

        return mounts_view(cp)
    if view == "stats":
        from ..views.stats import stats_view

        return stats_view(cp)
    if view == "sockets":
        from ..views.sockets import sockets_view

        return sockets_view(cp)
    raise ValueError(f"not a focused view: {view}")


def emit_view(cp, view: str, fmt: str = "text", pids=None) -> None:
    from . import views_json, views_text
    from .show_text import problems_blocks
    from .textout import emit

    data = view_data(cp, view)
    if fmt == "json":
        body = {
            "net": views_json.net_dict,
            "mounts": views_json.mounts_dict,
            "stats": views_json.stats_dict,
            "sockets": lambda rows: views_json.sockets_list(rows, pids),
        }[view](data)
        sys.stdout.write(json.dumps(views_json.view_document(cp, view, body), indent=1) + "\n")
        return
    blocks = {
        "net": views_text.net_blocks,
        "mounts": views_text.mounts_blocks,
        "stats": views_text.stats_blocks,
        "sockets": lambda rows: views_text.sockets_blocks(rows, pids),
    }[view](data)
    emit(blocks + problems_blocks(cp))
