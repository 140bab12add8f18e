"""What a project decided about findings, in its config: severity overrides and suppressions.

ONNX files have no comments, so `per-node-ignores` (node-name globs) is the equivalent of an inline
suppression, and `per-model-ignores` (path globs) of a per-file one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from onnxlint.core.finding import Finding, Report, Severity

# Exit codes (ruff's): no finding at or above --fail-on / at least one / a usage error, unreadable file or crash.
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def exit_code(reports: list[Report], fail_on: Severity, recording: bool = False) -> int:
    """A run's exit code. A run that records a baseline succeeds unless a file could not be read: every finding
    is then recorded. Refuted findings do not count."""
    if any(report.error or report.internal_errors for report in reports):
        return EXIT_ERROR
    if recording:
        return EXIT_CLEAN
    failing = any(f.severity.rank >= fail_on.rank and not f.refuted for report in reports for f in report.findings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


@dataclass(frozen=True)
class Policy:
    severity: Mapping[str, Severity] = field(default_factory=dict)  # rule code -> severity to report
    per_model_ignores: tuple[tuple[str, frozenset[str]], ...] = ()  # (path glob, rule codes)
    per_node_ignores: tuple[tuple[str, frozenset[str]], ...] = ()  # (node-name glob, rule codes)
    root: Path | None = None  # the folder path globs are relative to (the config file's)

    def apply(self, report: Report) -> Report:
        if not (self.severity or self.per_model_ignores or self.per_node_ignores) or report.error:
            return report
        ignored_here = {
            code
            for pattern, codes in self.per_model_ignores
            if self._path_matches(report.path, pattern)
            for code in codes
        }
        findings = tuple(
            self._reported(f) for f in report.findings if f.code not in ignored_here and not self._node_ignored(f)
        )
        return dataclasses.replace(report, findings=findings)

    def _reported(self, finding: Finding) -> Finding:
        severity = self.severity.get(finding.code)
        return dataclasses.replace(finding, severity=severity) if severity else finding

    def _node_ignored(self, finding: Finding) -> bool:
        """Suppressed when the finding's node, and every other node it stands for, match a glob for its code."""
        locations = (finding.location, *finding.related)
        nodes = [where.node for where in locations if where.node is not None]
        if len(nodes) < len(locations):
            return False
        return any(
            finding.code in codes and all(fnmatch.fnmatchcase(node, pattern) for node in nodes)
            for pattern, codes in self.per_node_ignores
        )

    def _path_matches(self, path: str, pattern: str) -> bool:
        candidates = [PurePath(path).as_posix()]
        if self.root is not None:
            with contextlib.suppress(ValueError):  # a model outside the project: only the path as given can match
                candidates.append(Path(os.path.abspath(path)).relative_to(self.root.resolve()).as_posix())
        return any(fnmatch.fnmatch(candidate, pattern) for candidate in candidates)
