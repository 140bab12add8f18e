"""Microsoft's SARIF validator (`Sarif.Multitool validate`, npm package @microsoft/sarif-multitool) accepts our
reports with no error: relative and absolute model paths, export scripts, names with spaces, '%', '#' and non-ASCII
characters, refuted findings, internal errors and files that cannot be read.

The JSON-schema test (test_output_formats.py) cannot see the validator's own rules, such as SARIF1004 (a relative
URI must not begin with a slash). `.ci/run` installs the validator and names it in ONNXLINT_SARIF_MULTITOOL; in CI
its absence is a failure, elsewhere a skip.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess

import pytest
from conftest import FIXTURES, rule

from onnxlint.checks import ALL_RULES
from onnxlint.cli import main
from onnxlint.core.engine import lint_file
from onnxlint.core.finding import Evidence, InternalError
from onnxlint.output import FORMATS


@pytest.fixture(scope="module")
def multitool() -> str:
    tool = os.environ.get("ONNXLINT_SARIF_MULTITOOL") or shutil.which("Sarif.Multitool")
    if tool:
        return tool
    if os.environ.get("CI"):
        pytest.fail("CI must run Microsoft's SARIF validator: .ci/run installs it and sets ONNXLINT_SARIF_MULTITOOL")
    pytest.skip(
        "Microsoft's SARIF validator is not installed (npm install @microsoft/sarif-multitool; set "
        "ONNXLINT_SARIF_MULTITOOL to its Sarif.Multitool binary)"
    )


def _validate(tool: str, folder, reports: list) -> list[str]:
    """The validator's error-level messages over every report."""
    log = folder / "validation.sarif"
    result = subprocess.run(
        [tool, "validate", "--output", str(log), *map(str, reports)], capture_output=True, text=True, timeout=300
    )
    assert log.is_file(), result.stdout + result.stderr
    found = json.loads(log.read_text(encoding="utf-8"))
    errors = [
        f"{r['ruleId']}: {r['message'].get('text', r['message'])}"
        for run in found["runs"]
        for r in run.get("results", [])
        if r.get("level", "warning") == "error"
    ]
    assert result.returncode == 0 or errors, result.stdout + result.stderr
    return errors


def test_validator_accepts_every_kind_of_report(multitool, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "my models").mkdir(parents=True)
    odd = project / "my models" / "yölo v5 #1 100%.onnx"
    shutil.copy(FIXTURES / "yolov5n_training.onnx", odd)
    shutil.copy(FIXTURES / "scripts" / "export_dynaxes_typo.py", project / "export script.py")
    monkeypatch.chdir(project)
    reports = []
    for name, paths in {
        "relative": ["my models/yölo v5 #1 100%.onnx", "export script.py"],
        "absolute": [str(odd), str(FIXTURES / "yolov5n_dynamic_batch.onnx"), str(project / "export script.py")],
        "unreadable": ["missing file.onnx", str(project / "my models")],
        "targeted": ["my models/yölo v5 #1 100%.onnx", "--target", "rk3588"],
    }.items():
        out = tmp_path / f"{name}.sarif"
        code = main([*paths, "--format", "sarif", "--output", str(out)])
        assert code in (1, 2) and out.is_file()
        reports.append(out)
    # Refuted findings (suppressions) and internal errors (notifications), as --confirm and a crash write them.
    report = lint_file(odd, [rule("NM001")])
    refuted = dataclasses.replace(
        report.findings[0], evidence=Evidence("onnxruntime 1.0", "refuted", {"cosine": 1.0}, "identical outputs")
    )
    crashed = dataclasses.replace(
        report,
        findings=(refuted,),
        internal_errors=(InternalError("NM002", "ValueError", "3 is not in list", "/tmp/onnxlint-traceback-x.txt"),),
    )
    out = tmp_path / "refuted.sarif"
    with out.open("w", encoding="utf-8") as stream:
        FORMATS["sarif"].lint([crashed], stream, ALL_RULES)
    reports.append(out)
    assert _validate(multitool, tmp_path, reports) == []


def test_validator_catches_what_we_fixed(multitool, tmp_path):
    # The check can fail: a relative URI beginning with a slash (what onnxlint once wrote) is an error.
    out = tmp_path / "bad.sarif"
    with out.open("w", encoding="utf-8") as stream:
        FORMATS["sarif"].lint([lint_file(FIXTURES / "yolov5n_training.onnx", [rule("NM001")])], stream, ALL_RULES)
    document = json.loads(out.read_text(encoding="utf-8"))
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    location.pop("uriBaseId", None)
    location["uri"] = "/abs/model.onnx"
    out.write_text(json.dumps(document), encoding="utf-8")
    assert any(error.startswith("SARIF1004") for error in _validate(multitool, tmp_path, [out]))
