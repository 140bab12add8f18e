"""From option values (command line, [tool.onnxlint], or the Python API) to what the engine runs with.

One place checks every option's meaning, whatever its source; an error names the source (the config file and
key, or the command-line option) in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from onnxlint.settings.config import COMMAND_LINE, Sourced
from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import parse_json, read_text
from onnxlint.core.finding import Severity
from onnxlint.core.policy import Policy
from onnxlint.core.registry import LintSettings, Rule, SelectorError, resolve_selection, selected_codes
from onnxlint.rknn.knowledge import known_chips

LAYOUTS = ("nchw", "nhwc")
DEFAULT_FAIL_ON = Severity.WARNING


class OptionError(ValueError):
    pass


@dataclass(frozen=True)
class Resolved:
    rules: tuple[Rule, ...]
    settings: LintSettings
    policy: Policy
    fail_on: Severity


def resolve(options: Mapping[str, Sourced], all_rules: Iterable[Rule], root: Path | None = None) -> Resolved:
    """Check and convert every option; `root` is the folder per-model-ignores globs are relative to."""
    from onnxlint.settings.deployment import parse_anchors, parse_channel_values, parse_classes

    all_rules = tuple(all_rules)
    value = _reader(options)
    chip = value("target", lambda v: _choice(v, known_chips(), "target"))
    try:
        rules = resolve_selection(all_rules, _value(options, "select"), _value(options, "ignore"))
    except SelectorError as exc:
        key = "select" if _names_unknown(all_rules, _value(options, "select")) else "ignore"
        raise _error(options, key, str(exc)) from None
    settings = LintSettings(
        target=value("toolkit", lambda named: deployment_target(chip, named), always=True),
        dynamic_axes=value("dynamic-axes", parse_dynamic_axes),
        anchors=value("anchors", parse_anchors),
        classes=value("classes", parse_classes),
        mean=value("mean", lambda v: parse_channel_values(v, "--mean")),
        std=value("std", lambda v: parse_channel_values(v, "--std")),
        input_layout=value("input-layout", lambda v: _choice(v.lower(), LAYOUTS, "input-layout")),
        rule_options=value("rules", lambda table: _rule_options(all_rules, table)) or {})
    policy = Policy(
        severity=value("severity", lambda table: {code: _severity(level) for selector, level in table.items()
                                                  for code in selected_codes(all_rules, [selector])}) or {},
        per_model_ignores=value("per-model-ignores", lambda table: _globs(all_rules, table)) or (),
        per_node_ignores=value("per-node-ignores", lambda table: _globs(all_rules, table)) or (),
        root=root)
    fail_on = value("fail-on", _severity) or DEFAULT_FAIL_ON
    return Resolved(rules=rules, settings=settings, policy=policy, fail_on=fail_on)


def deployment_target(chip: str | None, toolkit_version: str | None):
    """The chip with the knowledge of the toolkit version named (see resolve_target), or None without a chip."""
    if chip is None:
        if toolkit_version:
            raise ValueError("--toolkit needs --target")
        return None
    from onnxlint.rknn.targets import resolve_target

    return resolve_target(chip, toolkit_version)


def parse_dynamic_axes(value: str):
    """torch.onnx.export's dynamic_axes as inline JSON or a JSON file."""
    from onnxlint.core.registry import normalize_dynamic_axes

    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = read_text(value)
        except UnreadableInput as exc:
            raise ValueError(f"--dynamic-axes: cannot read '{value}' ({exc.reason})") from None
    try:
        spec = parse_json(text)
    except ValueError as exc:
        raise ValueError(f"--dynamic-axes: not valid JSON ({exc})") from None
    try:
        return normalize_dynamic_axes(spec)
    except ValueError as exc:
        raise ValueError(f"--dynamic-axes: {exc}") from None


def _reader(options: Mapping[str, Sourced]) -> Callable[..., Any]:
    def value(key: str, convert: Callable[[Any], Any], always: bool = False) -> Any:
        raw = _value(options, key)
        if raw is None and not always:
            return None
        try:
            return convert(raw)
        except (ValueError, SelectorError) as exc:
            raise _error(options, key, str(exc)) from None
    return value


def _value(options: Mapping[str, Sourced], key: str) -> Any:
    entry = options.get(key)
    return entry.value if entry else None


def _error(options: Mapping[str, Sourced], key: str, message: str) -> OptionError:
    entry = options.get(key)
    if entry is None or entry.source == COMMAND_LINE:
        return OptionError(message)
    return OptionError(f"{entry.source}: [tool.onnxlint] {key}: {message}")


def _names_unknown(rules: tuple[Rule, ...], selectors: Any) -> bool:
    try:
        selected_codes(rules, selectors or ["ALL"])
    except SelectorError:
        return True
    return False


def _choice(value: str, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ValueError(f"invalid {name} '{value}' (choose from {', '.join(choices)})")
    return value


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise ValueError(f"invalid severity '{value}' (choose from error, warning, info)") from None


def _globs(rules: tuple[Rule, ...], table: Mapping[str, list[str]]) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((pattern, selected_codes(rules, selectors)) for pattern, selectors in table.items())


def _rule_options(rules: tuple[Rule, ...], table: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """{code: {option: value}} from {code or slug: {option: value}}, checked against what each rule declares."""
    from onnxlint.core.registry import find_rule

    chosen: dict[str, dict[str, Any]] = {}
    for key, values in table.items():
        rule = find_rule(rules, key)
        if rule is None:
            raise ValueError(f"unknown rule '{key}'")
        for name, setting in values.items():
            spec = rule.options.get(name)
            if spec is None:
                declared = ", ".join(rule.options) or "none"
                raise ValueError(f"{rule.code} has no option '{name}' (its options: {declared})")
            valid = isinstance(setting, spec.kind) and not (spec.kind is not bool and isinstance(setting, bool))
            if spec.kind is list:
                valid = valid and all(isinstance(item, str) for item in setting)
            if not valid:
                raise ValueError(f"{rule.code} option '{name}' takes a {spec.kind.__name__}, got {setting!r}")
            chosen.setdefault(rule.code, {})[name] = setting
    return chosen
