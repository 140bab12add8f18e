"""The rule registry's invariants: stable unique codes and slugs, names that match, files that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from onnxlint.checks import ALL_RULES
from onnxlint.core.finding import Severity
from onnxlint.core.registry import CODE_PATTERN, FAMILIES, RETIRED, SLUG_PATTERN, SelectorError, resolve_selection

ROOT = Path(__file__).resolve().parent.parent


def test_codes_and_slugs_are_unique_and_well_formed():
    codes = [r.code for r in ALL_RULES]
    slugs = [r.name for r in ALL_RULES]
    assert len(set(codes)) == len(codes) and len(set(slugs)) == len(slugs)
    assert all(CODE_PATTERN.match(c) for c in codes)
    assert all(SLUG_PATTERN.match(s) for s in slugs)
    assert all(r.family in FAMILIES for r in ALL_RULES)
    assert not set(codes) & set(RETIRED)


def test_registry_is_ordered_by_code_within_each_family():
    for family in FAMILIES:
        codes = [r.code for r in ALL_RULES if r.family == family]
        assert codes == sorted(codes)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_names_modules_and_tests_match(rule):
    camel = "".join(part.capitalize() for part in rule.name.split("-"))
    assert type(rule).__name__ == camel
    stem = f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
    assert type(rule).__module__ == f"onnxlint.checks.{stem}"
    assert (ROOT / "tests" / f"test_{stem}.py").is_file()
    assert isinstance(rule.severity, Severity) and rule.summary and rule.inputs <= {"model", "script"}


def test_selection_by_code_family_and_slug():
    chosen = resolve_selection(ALL_RULES, ["OP001", "nm", "static-dim-lost"], ["NM003"])
    assert sorted(r.code for r in chosen) == ["IO002", "NM001", "NM002", "NM004", "NM005", "NM006", "NM007", "OP001"]
    assert len(resolve_selection(ALL_RULES, None, None)) == len(ALL_RULES)
    with pytest.raises(SelectorError, match="unknown rule selector 'ZZ'"):
        resolve_selection(ALL_RULES, ["ZZ"], None)
