"""The knowledge loader and the Target: family files meet their schema, chip facts come from them, and
resolve_target picks the version and refuses unknown chips and versions."""

from __future__ import annotations

import jsonschema
import pytest

from onnxlint.rknn import knowledge
from onnxlint.rknn.knowledge import family, int8_only_chips, known_chips, known_versions
from onnxlint.rknn.targets import resolve_target


def _schema_errors(data) -> list[str]:
    validator = jsonschema.Draft202012Validator(knowledge.schema())
    return ["/".join(map(str, error.absolute_path)) + ": " + error.message for error in validator.iter_errors(data)]


@pytest.mark.parametrize("version", known_versions())
def test_every_family_file_meets_the_schema_and_lists_its_int8_only_chips_among_its_chips(version):
    data = family(version)
    assert _schema_errors(data) == []
    assert data["version"] == version
    assert set(data["int8_only_chips"]) <= set(data["chips"])


def test_the_schema_refuses_a_family_file_that_breaks_it():
    data = dict(family(known_versions()[-1]))
    data["max_opset"] = "nineteen"
    assert _schema_errors(data) == ["max_opset: 'nineteen' is not of type 'integer'"]


def test_chip_facts_come_from_the_family_files():
    newest = family(known_versions()[-1])
    assert known_chips()[: len(newest["chips"])] == tuple(newest["chips"])
    assert int8_only_chips() == {"rv1106", "rv1103"}


def test_resolve_target_takes_the_version_named():
    target = resolve_target("rv1106", "2.5.0")
    assert (target.chip, target.label, target.int8_only) == ("rv1106", "rknn-toolkit2 2.5.0", True)
    assert not resolve_target("rk3588", "2.5.0").int8_only


def test_resolve_target_without_a_version_takes_the_installed_one_else_the_newest(monkeypatch):
    from onnxlint.rknn import targets

    monkeypatch.setattr(targets, "installed_version", lambda: None)
    assert resolve_target("rk3588").toolkit.version == known_versions()[-1]
    monkeypatch.setattr(targets, "installed_version", lambda: "9.9.9")
    with pytest.raises(ValueError, match=r"rknn-toolkit2 9\.9\.9 is installed, but onnxlint has knowledge for"):
        resolve_target("rk3588")


def test_resolve_target_refuses_an_unknown_chip_listing_the_valid_ones():
    with pytest.raises(ValueError) as refused:
        resolve_target("rk9999", "2.5.0")
    assert str(refused.value) == f"invalid target 'rk9999' (choose from {', '.join(known_chips())})"


def test_target_knowledge_and_build_failures_are_the_chips():
    rk3588, rv1106 = resolve_target("rk3588", "2.5.0"), resolve_target("rv1106", "2.5.0")
    assert rk3588.knowledge.chip == "rk3588" and rk3588.knowledge is rk3588.knowledge
    only_elsewhere = [f.id for f in rv1106.build_failures if f.chips is not None and "rk3588" not in f.chips]
    assert only_elsewhere and not set(only_elsewhere) & {f.id for f in rk3588.build_failures}
