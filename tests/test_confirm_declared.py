"""Rules declare their confirmer and the type of their findings' data; the runner and core/ know no rule."""

from __future__ import annotations

import ast
import pickle
import typing

import pytest
from conftest import ROOT, rule

from onnxlint.checks import ALL_RULES
from onnxlint.confirm.confirmer import Confirmer, PerFinding
from onnxlint.confirm.ort import DoubleNormalization
from onnxlint.confirm.toolkit_build import BuildFails, OnCpu, ToolkitBuild
from onnxlint.core.finding import Finding, Location, Severity


@pytest.mark.parametrize("checked", ALL_RULES, ids=lambda r: r.code)
def test_every_rule_declares_its_data_type_in_the_checks(checked):
    assert typing.is_typeddict(checked.data_type)
    assert checked.data_type.__module__.startswith("onnxlint.checks.")


def test_finding_data_must_match_the_declared_type():
    unnamed = rule("IO004")
    assert unnamed.finding("m", data={"name": "y"}).data == {"name": "y"}
    with pytest.raises(TypeError, match=r"missing \['name'\], undeclared \['names'\]"):
        unnamed.finding("m", data={"names": ["y"]})
    layout = rule("TG007")  # NotRequired keys may be left out, required ones not
    assert layout.finding("m", data={"input": "images", "option": "mean_values"}).data["option"] == "mean_values"
    with pytest.raises(TypeError, match=r"missing \['input'\]"):
        layout.finding("m", data={"option": "mean_values"})


@pytest.mark.parametrize("checked", [r for r in ALL_RULES if r.confirmer is not None], ids=lambda r: r.code)
def test_confirmers_travel_to_the_child_process(checked):
    """The runner sends each finding's confirmer to the confirmation's child process by pickle."""
    assert isinstance(checked.confirmer, Confirmer)
    assert pickle.loads(pickle.dumps(checked.confirmer)) == checked.confirmer


def _finding(code: str, **data) -> Finding:
    return Finding(
        code=code,
        rule="r",
        severity=Severity.ERROR,
        message="m",
        location=Location(tensor="images", op_type="Relu"),
        data=data,
    )


def test_a_rule_tells_its_confirmer_what_each_finding_claims():
    layout = rule("TG007").confirmer
    double = _finding(
        "TG007", input="images", graph_mean=[0], graph_std=[255], deployment_mean=[0], deployment_std=[255]
    )
    assert isinstance(layout.chosen(double), DoubleNormalization)
    count = _finding("TG007", input="images", option="mean_values", values=[0, 0, 0], channels=64)
    build = layout.chosen(count)
    assert isinstance(build, ToolkitBuild) and build.deployment_preprocessing
    assert build.claim(count.data) == BuildFails(words=("mean_values", "std_values"))
    assert build.claim({**count.data, "values": [0.0] * 64}) is None  # a build shows nothing of a right count
    placement = rule("TG006").confirmer
    assert placement.claim(
        {"outcome": "cpu", "probe_case": "c1", "missing_cpu_kernels": ["exSoftmax"], "toolkit_message": None}
    ) == OnCpu(probe_case="c1", missing_kernels=("exSoftmax",))
    assert placement.claim(
        {
            "outcome": "unsupported",
            "probe_case": "c1",
            "missing_cpu_kernels": [],
            "toolkit_message": "...Meet unsupported LSTM'",
        }
    ) == BuildFails(words=("Meet unsupported LSTM",))


def test_core_imports_confirm_for_typing_only():
    """confirm/ imports core/, never the other way: core names confirm's types under TYPE_CHECKING at most."""
    offending = []
    for path in sorted((ROOT / "onnxlint" / "core").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(statement)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            for statement in node.body
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("onnxlint.confirm")
                and id(node) not in typing_only
            ):
                offending.append(f"{path.name}:{node.lineno}")
    assert offending == []


def _names(confirmer: Confirmer) -> set[str]:
    if isinstance(confirmer, PerFinding):
        return _names(confirmer.then) | _names(confirmer.otherwise)
    return {confirmer.name}


def test_readme_confirmation_table_matches_the_rules():
    """Each row of the README's confirmation table lists the rules that declare that confirmer."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| confirmation | rules | what runs |") :].split("\n\n")[0].splitlines()[2:]
    documented = {}
    for row in table:
        name, codes = (cell.strip() for cell in row.split("|")[1:3])
        listed = set()
        for part in codes.split(", "):
            first, _, last = part.partition("–")
            listed |= {f"{first[:2]}{n:03d}" for n in range(int(first[2:]), int(last[2:] or first[2:]) + 1)}
        documented[name.strip("`")] = listed
    declared: dict[str, set[str]] = {}
    for checked in ALL_RULES:
        for name in _names(checked.confirmer) if checked.confirmer else ():
            declared.setdefault(name, set()).add(checked.code)
    assert documented == declared
