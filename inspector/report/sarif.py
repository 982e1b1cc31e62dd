"""A CheckReport as SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Each rule that ran is a ``reportingDescriptor`` (id, name, descriptions, help
text and page, default level); each finding a ``result`` whose location is the
image file it was read from (relative to the checkpoint directory, base id
``CHECKPOINT``) plus a logical location for the process / fd and, for memory
findings, the address. Suppressed findings stay in the log with a
``suppressions`` entry carrying the reason, as SARIF intends.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict

from ..checks.base import CheckReport, Finding, Rule
from ..checks.docs import rule_page

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "criu-inspect"


# Where the project and its rule pages are published, if anywhere: set by the
# deployment (no made-up default). Without it the rule pages travel inline as
# help.markdown and no helpUri/informationUri is emitted.
def project_url() -> str | None:
    return os.environ.get("CRIU_INSPECT_PROJECT_URL") or None


LEVELS = {"error": "error", "warning": "warning", "info": "note"}
BASE_ID = "CHECKPOINT"


def rule_doc_path(code: str) -> str:
    return f"docs/rules/{code}.md"


def help_uri(code: str) -> str | None:
    base = project_url()
    return f"{base}/blob/main/{rule_doc_path(code)}" if base else None


def _rule_name(rule: Rule) -> str:
    """SARIF wants an identifier-like name: 'secret in process memory' -> 'SecretInProcessMemory'."""
    words = "".join(ch if ch.isalnum() else " " for ch in rule.title).split()
    return "".join(w[:1].upper() + w[1:] for w in words) or rule.code


def rule_descriptor(rule: Rule) -> dict:
    help_text = f"Fix: {rule.fix}"
    if rule.criu_error:
        help_text += f"\nWithout it, criu restore fails with: {rule.criu_error}"
    help_obj = {"text": help_text}
    page = rule_page(rule)  # the rule's page travels inline (rules built outside the package have none)
    if page:
        help_obj["markdown"] = page
    return {
        "id": rule.code,
        "name": _rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": help_obj,
        **({"helpUri": help_uri(rule.code)} if help_uri(rule.code) else {}),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "category": rule.category,
            "tags": [rule.category] + (["host"] if rule.host else []),
            **({"criuError": rule.criu_error} if rule.criu_error else {}),
        },
    }


def _image_of(f: Finding) -> str:
    if f.image:
        return f.image
    if f.pid is not None:
        return f"core-{f.pid}.img"
    return "inventory.img"


def _location(f: Finding) -> dict:
    physical: dict = {"artifactLocation": {"uri": _image_of(f), "uriBaseId": BASE_ID}}
    address = f.details.get("address") if isinstance(f.details, dict) else None
    if address is None:
        address = f.vma_start
    if address is not None:
        physical["address"] = {"absoluteAddress": address, "kind": "data"}
    offset = f.details.get("file_offset") if isinstance(f.details, dict) else None
    if offset is not None:  # a binary artifact: the region is a byte range of the image file
        physical["region"] = {"byteOffset": offset, "byteLength": f.details.get("file_length", 0)}
    loc: dict = {"physicalLocation": physical}
    logical: list[dict] = []
    if f.pid is not None:
        logical.append({"name": f"pid {f.pid}", "fullyQualifiedName": f"pid {f.pid}", "kind": "object"})
        if f.fd is not None:
            logical.append(
                {
                    "name": f"fd {f.fd}",
                    "fullyQualifiedName": f"pid {f.pid}/fd {f.fd}",
                    "kind": "resource",
                    "parentIndex": 0,
                }
            )
    if logical:
        loc["logicalLocations"] = logical
    return loc


def _fingerprint(f: Finding) -> str:
    # stable across runs of the same checkpoint: code, process, fd, image, message
    key = "\0".join(str(x) for x in (f.code, f.pid, f.fd, _image_of(f), f.message))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _jsonable(value):
    if isinstance(value, (frozenset, set, tuple)):
        return sorted(value) if isinstance(value, (frozenset, set)) else list(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def result(f: Finding, rule_index: dict[str, int], reason: str | None = None) -> dict:
    text = f.message if f.message.endswith(".") else f.message + "."
    text += f" Fix: {f.fix}"
    out: dict = {
        "ruleId": f.code,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": text},
        "locations": [_location(f)],
        "partialFingerprints": {"criuInspectFinding/v1": _fingerprint(f)},
        "properties": _jsonable(
            {
                "category": f.category,
                "severity": f.severity,
                "pid": f.pid,
                "fd": f.fd,
                "fix": f.fix,
                **({"criuError": f.criu_error} if f.criu_error else {}),
                **({"details": f.details} if f.details else {}),
            }
        ),
    }
    if f.code in rule_index:
        out["ruleIndex"] = rule_index[f.code]
    if reason is not None:
        out["suppressions"] = [{"kind": "external", "status": "accepted", "justification": reason}]
    return out


def sarif_log(report: CheckReport) -> dict:
    from .. import __version__

    rules = list(report.rules)
    known = {r.code for r in rules}
    # a finding of a rule the report does not list (should not happen) still gets a descriptor
    for f in [*report.findings, *(f for f, _ in report.suppressed)]:
        if f.code not in known:
            rules.append(Rule(f.code, f.title, f.category, f.severity, f.title, f.fix, check=lambda cp, t: ()))
            known.add(f.code)
    rule_index = {r.code: i for i, r in enumerate(rules)}
    results = [result(f, rule_index) for f in report.findings]
    results += [result(f, rule_index, reason) for f, reason in report.suppressed]
    notifications = [{"level": "error", "message": {"text": p}} for p in report.problems]
    notifications += [{"level": "warning", "message": {"text": w}} for w in getattr(report, "warnings", [])]
    base_uri = "file://" + os.path.abspath(report.checkpoint).rstrip("/") + "/"
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        **({"informationUri": project_url()} if project_url() else {}),
                        "rules": [rule_descriptor(r) for r in rules],
                    }
                },
                "originalUriBaseIds": {BASE_ID: {"uri": base_uri, "description": {"text": "the checkpoint directory"}}},
                "invocations": [
                    {"executionSuccessful": not report.problems, "toolExecutionNotifications": notifications}
                ],
                "results": results,
                "properties": {
                    "verdict": report.verdict,
                    "failOn": report.fail_on,
                    "target": _jsonable(asdict(report.target)),
                },
            }
        ],
    }


def render(report: CheckReport, stream) -> None:
    json.dump(sarif_log(report), stream, indent=1)
    stream.write("\n")
