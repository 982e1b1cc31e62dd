"""One entry point for every check output format."""

from __future__ import annotations

import importlib

from ..errors import InspectError

FORMATS = {
    "text": "inspector.report.check_text",
    "json": "inspector.report.check_json",
    "sarif": "inspector.report.sarif",
    "junit": "inspector.report.junit",
}


def render(report, fmt: str, stream) -> None:
    module_name = FORMATS.get(fmt)
    if module_name is None:
        raise InspectError(None, f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise InspectError(
            None, f"output format {fmt} is not available in this build ({module_name} missing)"
        ) from None
    module.render(report, stream)
