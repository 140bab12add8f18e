"""The finding data model: frozen records a rule yields and a formatter renders."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; `--fail-on` compares ranks."""
        return {"info": 0, "warning": 1, "error": 2}[self.value]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Location:
    """Where a finding points. An .onnx has no lines, so it is located by graph object.

    Findings in Python export scripts have a `line` and no `graph`.
    """

    graph: str | None = "main"
    node: str | None = None
    op_type: str | None = None
    tensor: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "graph": self.graph,
            "line": self.line,
            "node": self.node,
            "op_type": self.op_type,
            "tensor": self.tensor,
        }


# What a confirmation concluded about a finding.
Verdict = Literal["confirmed", "refuted", "inconclusive", "skipped"]


@dataclass(frozen=True)
class Evidence:
    """What a numeric confirmation measured (filled in by --confirm, not by static rules)."""

    backend: str
    verdict: Verdict
    metrics: Mapping[str, float | str] = field(default_factory=dict)  # "inf" and "nan" as strings (JSON has neither)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "detail": self.detail,
            "metrics": dict(sorted(self.metrics.items())),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Finding:
    code: str
    rule: str
    severity: Severity
    message: str
    location: Location
    fix: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    evidence: Evidence | None = None
    # Further places with the same problem, when one finding stands for many (SARIF relatedLocations).
    related: tuple[Location, ...] = ()

    @property
    def refuted(self) -> bool:
        """--confirm showed the finding false: it stays visible but does not fail the run."""
        return self.evidence is not None and self.evidence.verdict == "refuted"

    @property
    def fingerprint(self) -> str:
        """Stable across commits and runs: the rule, the graph path, and the node (or tensor, or script line).
        Code scanning (SARIF partialFingerprints) and baselines track findings by it."""
        where = self.location
        key = "\0".join(str(part) for part in (self.code, where.graph, where.node, where.tensor, where.line))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "data": _sorted_mapping(self.data),
            "evidence": self.evidence.to_dict() if self.evidence else None,
            "fix": self.fix,
            "location": self.location.to_dict(),
            "message": self.message,
            "related": [r.to_dict() for r in self.related],
            "rule": self.rule,
            "severity": self.severity.value,
        }


@dataclass(frozen=True)
class InternalError:
    """A rule, analysis or confirmation that crashed on this file: a bug in onnxlint (or a file it did not
    expect), never a finding. The other rules still report; the run exits 2."""

    source: str  # the rule code, "load", or "<CODE> confirmation"
    exception: str  # the exception's type name
    message: str  # one line
    traceback: str | None = None  # the file the full traceback was written to

    def to_dict(self) -> dict[str, Any]:
        return {
            "exception": self.exception,
            "message": self.message,
            "source": self.source,
            "traceback": self.traceback,
        }


@dataclass(frozen=True)
class SkippedRule:
    code: str
    reason: str


@dataclass(frozen=True)
class Report:
    """The outcome of linting one file: findings, or the reason it could not be read."""

    path: str
    target: str | None
    findings: tuple[Finding, ...] = ()
    toolkit: str | None = None  # whose knowledge the target rules applied, e.g. "rknn-toolkit2 2.5.0"
    rules_run: int = 0
    rules_skipped: tuple[SkippedRule, ...] = ()
    error: str | None = None
    internal_errors: tuple[InternalError, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "findings": [f.to_dict() for f in self.findings],
            "internal_errors": [e.to_dict() for e in self.internal_errors],
            "path": self.path,
            "summary": {
                "error": self.count(Severity.ERROR),
                "info": self.count(Severity.INFO),
                "rules_run": self.rules_run,
                "rules_skipped": [{"code": s.code, "reason": s.reason} for s in self.rules_skipped],
                "warning": self.count(Severity.WARNING),
            },
            "target": self.target,
            "toolkit": self.toolkit,
        }


def _sorted_mapping(value: Any) -> Any:
    """Recursively sort mapping keys so JSON output never depends on insertion order."""
    if isinstance(value, Mapping):
        return {str(k): _sorted_mapping(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted_mapping(v) for v in value]
    return value
