"""GitHub Actions workflow commands: one annotation per finding on the model file (line 1; an .onnx has no
lines) or on the script line. https://docs.github.com/actions/reference/workflow-commands-for-github-actions"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from onnxlint.core.finding import Report, Severity
from onnxlint.core.registry import Rule
from onnxlint.output.escape import visible

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def lint(reports: Iterable[Report], stream: TextIO, rules: Iterable[Rule] = ()) -> None:
    for report in reports:
        if report.error:
            stream.write(f"::error file={_property(report.path)}::{_data(report.error)}\n")
            continue
        for crash in report.internal_errors:
            text = f"{crash.source} failed: {crash.exception}: {crash.message} (traceback in {crash.traceback})"
            stream.write(
                f"::error file={_property(report.path)},title={_property('onnxlint internal error')}::{_data(text)}\n"
            )
        for finding in report.findings:
            where = finding.location
            place = (
                f"{where.node} ({where.op_type}): " if where.node else (f"'{where.tensor}': " if where.tensor else "")
            )
            title = f"onnxlint {finding.code} {finding.rule}"
            text = place + finding.message + (f" Fix: {finding.fix}" if finding.fix else "")
            if finding.evidence:
                text += f" [{finding.evidence.verdict} by {finding.evidence.backend}: {finding.evidence.detail}]"
            stream.write(
                f"::{COMMANDS[finding.severity]} file={_property(report.path)},line={where.line or 1},"
                f"title={_property(title)}::{_data(text)}\n"
            )


def _data(text: str) -> str:
    # Newlines and every other control character (ESC included) become visible escapes first: one finding is
    # always one line, and nothing from a model can start a workflow command or reach the log as a terminal code.
    return visible(text).replace("%", "%25")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
