"""The engine: one file in, one Report out. Pure and deterministic; knows nothing about output formats."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from onnxlint.analysis.exportscript import parse_export_script
from onnxlint.core.errors import UnreadableInput, internal_error
from onnxlint.core.finding import Finding, InternalError, Report, SkippedRule
from onnxlint.core.graph import build_graphs
from onnxlint.core.model import load_model
from onnxlint.core.policy import Policy
from onnxlint.core.registry import LintSettings, ModelContext, Rule, ScriptContext

SCRIPT_SUFFIXES = (".py",)


def lint_file(
    path: str | os.PathLike, rules: Iterable[Rule], settings: LintSettings = LintSettings(), policy: Policy = Policy()
) -> Report:
    """Lint an .onnx model or a Python export script; a file that cannot be read gives Report.error.
    The project's policy (severity overrides, suppressions) applies to the findings."""
    return lint_loaded(path, rules, settings, policy).report


@dataclass(frozen=True)
class Linted:
    """One file's report, and the context its rules read (None when the file could not be read): a caller that
    needs more of the model than the findings (its detection heads, say) reads it there instead of loading the
    model again."""

    report: Report
    context: ModelContext | ScriptContext | None


def lint_loaded(
    path: str | os.PathLike, rules: Iterable[Rule], settings: LintSettings = LintSettings(), policy: Policy = Policy()
) -> Linted:
    """lint_file's report, with the context it was linted in."""
    display = str(path)
    try:
        if Path(path).suffix.lower() in SCRIPT_SUFFIXES:
            ctx: ModelContext | ScriptContext = ScriptContext(display, parse_export_script(path), settings)
            kind = "script"
        else:
            model = load_model(path)
            ctx = ModelContext(model, build_graphs(model), settings)
            kind = "model"
    except UnreadableInput as exc:
        return Linted(unreadable_report(display, exc.reason, settings), None)
    except Exception as exc:  # a file the loader did not expect: a bug, reported as one
        return Linted(crashed_report(display, settings, "load", exc), None)
    report = policy.apply(_run_rules(display, ctx, [r for r in rules if kind in r.inputs], settings))
    return Linted(dataclasses.replace(report, findings=merge_repeats(report.findings)), ctx)


def unreadable_report(path: str, reason: str, settings: LintSettings = LintSettings()) -> Report:
    """The report of a file (or a folder to search) that cannot be read."""
    return Report(path=path, target=_chip(settings), toolkit=_toolkit_label(settings), error=reason)


def crashed_report(path: str, settings: LintSettings, source: str, exc: BaseException) -> Report:
    """The report of a file whose linting failed as a whole (in `source`: "load", or "worker" for a process that
    died on it): one internal error, no findings."""
    return Report(
        path=path,
        target=_chip(settings),
        toolkit=_toolkit_label(settings),
        internal_errors=(internal_error(source, exc, path),),
    )


def _run_rules(display: str, ctx: ModelContext | ScriptContext, rules: list[Rule], settings: LintSettings) -> Report:
    findings: list[Finding] = []
    skipped: list[SkippedRule] = []
    crashed: list[InternalError] = []
    ran = 0
    for rule in rules:
        # Each rule runs in isolation: one that crashes (or an analysis it reads, such as heads or the dim
        # probe) becomes an internal error for that rule, and every other rule still reports.
        try:
            reason = rule.skip_reason(ctx)
            if reason:
                skipped.append(SkippedRule(rule.code, reason))
                continue
            ran += 1
            findings.extend(list(rule.check_model(ctx) if isinstance(ctx, ModelContext) else rule.check_script(ctx)))
        except Exception as exc:
            crashed.append(internal_error(rule.code, exc, display))
    order = ctx.node_order if findings and isinstance(ctx, ModelContext) else {}  # 10^5 entries: only to sort

    def sort_key(finding: Finding):
        where = finding.location
        rank = order.get((where.graph or "", where.node or ""), (-1, -1))
        return (rank, where.line or 0, finding.code, where.tensor or "", finding.message)

    return Report(
        path=display,
        target=_chip(settings),
        toolkit=_toolkit_label(settings),
        findings=tuple(sorted(findings, key=sort_key)),
        rules_run=ran,
        rules_skipped=tuple(skipped),
        internal_errors=tuple(crashed),
    )


# How many node names a merged finding's message lists before "and N more" (JSON and SARIF keep every one).
NAMED_IN_MESSAGE = 3


def merge_repeats(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """One finding per rule and cause: findings of one rule with the same message, fix and severity (the same
    operator missing from the opset on 57 nodes, say) become the first of them, in topological order, naming
    the count and the first nodes, with every other place kept as a related location. Runs after the project's
    per-node ignores, so a count never includes an ignored node."""
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.code, finding.message, finding.fix, finding.severity), []).append(finding)
    merged = []
    for finding in findings:
        group = groups[(finding.code, finding.message, finding.fix, finding.severity)]
        if len(group) == 1:
            merged.append(finding)
        elif group[0] is finding:
            merged.append(_merged(group))
    return tuple(merged)


def _merged(group: list[Finding]) -> Finding:
    first = group[0]
    places = [where for finding in group for where in (finding.location, *finding.related)]
    names = [where.node or where.tensor or f"line {where.line}" for where in places]
    listed = ", ".join(names[:NAMED_IN_MESSAGE]) + (
        f" and {len(names) - NAMED_IN_MESSAGE} more" if len(names) > NAMED_IN_MESSAGE else ""
    )
    return dataclasses.replace(
        first,
        message=f"{first.message} ({len(names)} places: {listed})",
        related=tuple(places[1:]),
        data={**first.data, "count": len(names), "places": names},
    )


def _chip(settings: LintSettings) -> str | None:
    return settings.target.chip if settings.target else None


def _toolkit_label(settings: LintSettings) -> str | None:
    return settings.target.label if settings.target else None
