"""--format sarif / github / json against their specifications, and --output."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from conftest import FIXTURES, ROOT

from onnxlint.cli import main

SCRIPT = FIXTURES / "scripts" / "export_dynaxes_typo.py"
MODELS = [FIXTURES / "yolov5n_training.onnx", FIXTURES / "yolov5n_dynamic_batch.onnx", SCRIPT]


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sarif_validates_against_the_official_schema(capsys, tmp_path):
    missing = tmp_path / "missing.onnx"
    code, out, _ = _run(capsys, *MODELS, missing, "--format", "sarif", "--target", "rk3568", "--toolkit", "2.5.0")
    assert code == 2  # the unreadable file
    document = json.loads(out)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    [run] = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"NM001", "IO005", "TG003"}
    nm001 = next(r for r in rules if r["id"] == "NM001")
    assert nm001["name"] == "bn-training-mode" and "training" in nm001["fullDescription"]["text"]
    results = run["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert rules[by_rule["NM001"]["ruleIndex"]]["id"] == "NM001"
    [location] = by_rule["NM001"]["locations"]
    assert location["physicalLocation"]["region"] == {"startLine": 1}
    assert location["logicalLocations"][0]["name"] == "/backbone_p3/backbone_p3.0/bn/BatchNormalization"
    script_result = by_rule["IO005"]
    assert script_result["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    assert run["invocations"][0]["executionSuccessful"] is False
    assert str(missing) in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_sarif_fingerprints_are_stable_and_distinct(capsys):
    first = json.loads(_run(capsys, *MODELS, "--format", "sarif")[1])
    second = json.loads(_run(capsys, *reversed(MODELS), "--format", "sarif")[1])

    def prints(document):
        return {
            (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["partialFingerprints"]["onnxlint/v1"])
            for r in document["runs"][0]["results"]
        }

    assert prints(first) == prints(second)
    values = [fp for _, fp in prints(first)]
    assert len(values) == len(set(values))


def test_github_annotations(capsys, tmp_path):
    code, out, _ = _run(capsys, FIXTURES / "yolov5n_training.onnx", SCRIPT, "--format", "github")
    assert code == 1
    lines = out.splitlines()
    model = f"::error file={FIXTURES / 'yolov5n_training.onnx'},line=1,title=onnxlint NM001 bn-training-mode::"
    assert any(line.startswith(model) and "(BatchNormalization): " in line for line in lines), lines
    assert any(line.startswith(f"::error file={SCRIPT},line=") and "IO005" in line for line in lines)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_github_escapes_workflow_command_syntax(tmp_path, capsys):
    import onnx
    from conftest import parse

    path = tmp_path / "odd,name:1.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float[3] m = {0, 0, 0}, float[3] v = {1, 1, 1},
            float[3] s = {1, 1, 1}, float[3] b = {0, 0, 0}> {
            y = BatchNormalization <training_mode = 1> (x, s, b, m, v)
        }"""),
        str(path),
    )
    code, out, _ = _run(capsys, path, "--format", "github", "--select", "NM001")
    assert code == 1
    assert "file=" + str(path).replace(",", "%2C").replace(":", "%3A") + ",line=1," in out
    assert out.count("\n") == 1


def test_json_output_matches_its_schema(capsys, tmp_path):
    _, out, _ = _run(capsys, *MODELS, tmp_path / "missing.onnx", "--format", "json", "--target", "rv1106")
    schema = json.loads(resources.files("onnxlint").joinpath("schemas", "lint-report.schema.json").read_text())
    jsonschema.validate(json.loads(out), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "text"])
def test_output_file_gets_the_format_and_the_terminal_gets_text(capsys, tmp_path, fmt):
    target = tmp_path / f"report.{fmt}"
    code, out, _ = _run(capsys, FIXTURES / "yolov5n_training.onnx", "--format", fmt, "--output", target)
    assert code == 1
    assert out.startswith(str(FIXTURES / "yolov5n_training.onnx")) and "Found 1 error" in out
    written = target.read_text()
    if fmt in ("json", "sarif"):
        json.loads(written)
    assert "NM001" in written
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_output_into_a_missing_folder_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, FIXTURES / "yolov5n_training.onnx", "--output", tmp_path / "no" / "r.json")
    assert code == 2 and err.startswith("onnxlint: error: --output: cannot write") and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("path", "artifact"),
    [
        ("/abs/my model.onnx", {"uri": "file:///abs/my%20model.onnx"}),
        ("models/yölo#1.onnx", {"uri": "models/y%C3%B6lo%231.onnx", "uriBaseId": "%SRCROOT%"}),
        ("a:b.onnx", {"uri": "a%3Ab.onnx", "uriBaseId": "%SRCROOT%"}),  # not read as a URI scheme
        ("../x 100%.onnx", {"uri": "../x%20100%25.onnx", "uriBaseId": "%SRCROOT%"}),
    ],
)
def test_sarif_artifact_uris_are_rfc3986(path, artifact):
    from onnxlint.output.sarif import _artifact

    assert _artifact(path) == artifact
