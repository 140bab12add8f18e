"""Machine-readable output (schema_version 1): sorted keys, no timestamps, written with json.dump."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from onnxlint import __version__
from onnxlint.core.finding import Report
from onnxlint.core.registry import Rule
from onnxlint.core.ruledocs import read_page
from onnxlint.output.escape import encodable

SCHEMA_VERSION = 1


def _dump(document: Any, stream: TextIO) -> None:
    json.dump(encodable(document), stream, indent=2, sort_keys=True, ensure_ascii=False)
    stream.write("\n")


def _envelope(**body: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "tool": {"name": "onnxlint", "version": __version__}, **body}


def rule_record(rule: Rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "rule": rule.name,
        "family": rule.family,
        "severity": rule.severity.value,
        "summary": rule.summary,
        "inputs": sorted(rule.inputs),
        "options": {
            name: {"type": spec.kind.__name__, "default": spec.default, "help": spec.help}
            for name, spec in rule.options.items()
        },
    }


def lint(reports: Iterable[Report], stream: TextIO, rules: Iterable[Rule] = ()) -> None:
    _dump(_envelope(results=[r.to_dict() for r in reports]), stream)


def inspect(summaries: Iterable[dict[str, Any]], stream: TextIO) -> None:
    _dump(_envelope(models=list(summaries)), stream)


def rules(all_rules: Iterable[Rule], stream: TextIO) -> None:
    _dump(_envelope(rules=[rule_record(r) for r in all_rules]), stream)


def explain(rule: Rule, stream: TextIO) -> None:
    _dump(_envelope(rule={**rule_record(rule), "doc": read_page(rule)}), stream)


def config(path: str | None, effective: dict[str, Any], stream: TextIO) -> None:
    """`onnxlint config`: {key: {value, source}} and the config file used."""
    _dump(
        _envelope(
            config_file=path,
            settings={key: {"value": entry.value, "source": entry.source} for key, entry in effective.items()},
        ),
        stream,
    )


def compare(comparison, stream: TextIO) -> None:
    """`onnxlint compare`: the comparison document (its own schema_version 1, as documented in the README)."""
    _dump({**comparison.to_dict(), "tool": {"name": "onnxlint", "version": __version__}}, stream)


def rknn_build(report, stream: TextIO) -> None:
    """`onnxlint rknn-build`: the attempts, the calls that built, and the log file."""
    _dump({**report.to_dict(), "tool": {"name": "onnxlint", "version": __version__}}, stream)


def quant(report, stream: TextIO) -> None:
    """`onnxlint quant`: the quantization-risk document (schemas/quant-report.schema.json)."""
    _dump({**report.to_dict(), "tool": {"name": "onnxlint", "version": __version__}}, stream)
