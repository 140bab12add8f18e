"""SARIF 2.1.0 for code-scanning services. An .onnx has no lines: model findings point at line 1 of the file and
name the node or tensor as a logical location; script findings point at their line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from onnxlint import __version__
from onnxlint.core.finding import Finding, Location, Report, Severity
from onnxlint.core.registry import Rule
from onnxlint.core.ruledocs import read_page, sections
from onnxlint.output.escape import encodable

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FINGERPRINT_KEY = "onnxlint/v1"


def lint(reports: Iterable[Report], stream: TextIO, rules: Iterable[Rule] = ()) -> None:
    reports, rules = list(reports), list(rules)
    index = {rule.code: position for position, rule in enumerate(rules)}
    results = [_result(report, finding, index) for report in reports for finding in report.findings]
    failures = [
        {
            "level": "error",
            "message": {"text": f"{report.path}: {report.error}"},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(report.path)}}],
        }
        for report in reports
        if report.error
    ]
    failures += [
        {
            "level": "error",
            "message": {
                "text": f"{report.path}: {crash.source} failed: {crash.exception}: "
                f"{crash.message} (traceback in {crash.traceback})"
            },
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(report.path)}}],
        }
        for report in reports
        for crash in report.internal_errors
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "onnxlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "invocations": [{"executionSuccessful": not failures, "toolExecutionNotifications": failures}],
                "results": results,
            }
        ],
    }
    json.dump(encodable(document), stream, indent=2, sort_keys=True, ensure_ascii=False)
    stream.write("\n")


def _rule(rule: Rule) -> dict[str, Any]:
    page = sections(read_page(rule))
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": page["What it catches"], "markdown": page["What it catches"]},
        "help": {"text": page["Fix"], "markdown": page["Fix"]},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [rule.family]},
    }


def _result(report: Report, finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message + (f" Fix: {finding.fix}" if finding.fix else "")},
        "locations": [_location(report.path, finding.location)],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.evidence:  # --confirm: what running the model showed
        result["properties"] = {"evidence": finding.evidence.to_dict()}
        if finding.refuted:
            result["suppressions"] = [{"kind": "external", "justification": finding.evidence.detail}]
    if finding.related:
        result["relatedLocations"] = [
            {"id": number, **_location(report.path, where)} for number, where in enumerate(finding.related, start=1)
        ]
    return result


def _location(path: str, where: Location) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": _artifact(path), "region": {"startLine": where.line or 1}}
    }
    logical = []
    if where.node:
        logical.append({"name": where.node, "fullyQualifiedName": f"{where.graph}/{where.node}", "kind": "function"})
    if where.tensor:
        logical.append(
            {
                "name": where.tensor,
                "fullyQualifiedName": f"{where.graph or 'script'}/{where.tensor}",
                "kind": "variable",
            }
        )
    if logical:
        location["logicalLocations"] = logical
    return location


SOURCE_ROOT = "%SRCROOT%"  # code scanning resolves paths relative to the repository checked out there


def _artifact(path: str) -> dict[str, str]:
    """An artifactLocation (SARIF §3.4, RFC 3986): an absolute path becomes a file:// URI; a relative one stays
    a relative reference against %SRCROOT%. Both are percent-encoded, so spaces, '%', '#', ':' and non-ASCII names
    survive, and no relative reference begins with a slash (rule SARIF1004)."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(os.fsencode(Path(path).as_posix()), safe="/"), "uriBaseId": SOURCE_ROOT}
