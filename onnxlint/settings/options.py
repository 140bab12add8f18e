"""From option values (command line, [tool.onnxlint], or the Python API) to what the engine runs with.

One place checks every option's meaning, whatever its source; an error names the source (the config file and
key, or the command-line option) in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import parse_json, read_text
from onnxlint.core.finding import Severity
from onnxlint.core.policy import Policy
from onnxlint.core.registry import LintSettings, Rule, SelectorError, resolve_selection, selected_codes
from onnxlint.rknn.knowledge import known_chips
from onnxlint.settings.config import COMMAND_LINE, Sourced, merge, read_config
from onnxlint.settings.table import BY_NAME, CONFIG_KEYS, LAYOUTS

if TYPE_CHECKING:
    from onnxlint.confirm.runner import ConfirmOptions
    from onnxlint.core.baseline import Baseline
    from onnxlint.core.sandbox import Limits


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
    deployment_target = _deployment_target(value)
    try:
        rules = resolve_selection(all_rules, _value(options, "select"), _value(options, "ignore"))
    except SelectorError as exc:
        key = "select" if _names_unknown(all_rules, _value(options, "select")) else "ignore"
        raise _error(options, key, str(exc)) from None
    settings = LintSettings(
        **deployment_target,
        dynamic_axes=value("dynamic-axes", parse_dynamic_axes),
        anchors=value("anchors", parse_anchors),
        classes=value("classes", parse_classes),
        mean=value("mean", lambda v: parse_channel_values(v, "--mean")),
        std=value("std", lambda v: parse_channel_values(v, "--std")),
        input_layout=value("input-layout", lambda v: _choice(v.lower(), LAYOUTS, "input-layout")),
        rule_options=value("rules", lambda table: _rule_options(all_rules, table)) or {},
    )
    policy = Policy(
        severity=value(
            "severity",
            lambda table: {
                code: _severity(level)
                for selector, level in table.items()
                for code in selected_codes(all_rules, [selector])
            },
        )
        or {},
        per_model_ignores=value("per-model-ignores", lambda table: _globs(all_rules, table)) or (),
        per_node_ignores=value("per-node-ignores", lambda table: _globs(all_rules, table)) or (),
        root=root,
    )
    fail_on = value("fail-on", _severity) or _severity(BY_NAME["fail-on"].default)
    return Resolved(rules=rules, settings=settings, policy=policy, fail_on=fail_on)


def _deployment_target(value: Callable[..., Any]) -> dict[str, Any]:
    """LintSettings' target: the chip with the toolkit knowledge that applies to it (--target, --toolkit)."""
    chip = value("target", lambda v: _choice(v, known_chips(), "target"))
    return {"target": value("toolkit", lambda named: deployment_target(chip, named), always=True)}


@dataclass(frozen=True)
class LintSetup:
    """Everything one lint run is told, whoever tells it (the command line or onnxlint.lint)."""

    resolved: Resolved
    options: Mapping[str, Sourced]  # every config key given, with its source (what `onnxlint config` shows)
    config_path: Path | None = None  # the config file read, if any
    confirm: ConfirmOptions | None = None  # None: no --confirm
    baseline: Baseline | None = None  # findings to leave out of the reports
    jobs: int = 1


def _given_value(given: Mapping[str, Any], name: str) -> Any:
    """An option's value as given, else the table's default."""
    value = given.get(name)
    return BY_NAME[name].default if value is None else value


def lint_setup(given: Mapping[str, Any], config_path: Path | None, all_rules: Iterable[Rule]) -> LintSetup:
    """The run that the option values `given` ({option name: value or None}, values already in their command-line
    form) and the config file at `config_path` ask for. Raises ConfigError or OptionError, in one line."""
    from_file = read_config(config_path) if config_path else {}
    options = merge(from_file, {key: given.get(key) for key in CONFIG_KEYS})
    resolved = resolve(options, all_rules, root=config_path.parent if config_path else None)
    confirm = confirm_options(given)
    if confirm is not None:  # rules that run the model (RunRule) run too
        resolved = dataclasses.replace(resolved, settings=dataclasses.replace(resolved.settings, run=confirm))
    return LintSetup(
        resolved=resolved,
        options=options,
        config_path=config_path,
        confirm=confirm,
        baseline=_baseline(given.get("baseline")),
        jobs=_given_value(given, "jobs"),
    )


def confirm_options(given: Mapping[str, Any]) -> ConfirmOptions | None:
    """--confirm's inputs, reference outputs, tolerance and limits, or None without --confirm."""
    if not given.get("confirm"):
        if given.get("inputs") or given.get("reference"):
            raise OptionError("--inputs and --reference need --confirm")
        if given.get("run-timeout") is not None or given.get("run-memory") is not None:
            raise OptionError("--run-timeout and --run-memory need --confirm")
        return None
    from onnxlint.confirm.inputs import load_inputs
    from onnxlint.confirm.metrics import Tolerance
    from onnxlint.confirm.runner import ConfirmOptions

    try:
        inputs = load_inputs(given["inputs"]) if given.get("inputs") else None
        reference = load_inputs(given["reference"], option="--reference") if given.get("reference") else None
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    return ConfirmOptions(
        seed=_given_value(given, "seed"),
        inputs=inputs,
        reference=reference,
        tolerance=Tolerance(rtol=_given_value(given, "rtol"), atol=_given_value(given, "atol")),
        limits=run_limits(given),
    )


def run_limits(given: Mapping[str, Any]) -> Limits:
    """The bounds of each child process that runs a model: --run-timeout and --run-memory, else the defaults."""
    import math

    from onnxlint.core.sandbox import Limits

    bounds = {"timeout_s": "run-timeout", "memory_mib": "run-memory"}
    for name in bounds.values():
        value = given.get(name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise OptionError(f"--{name} must be a positive number, got {value}")
    return Limits(**{field: given[name] for field, name in bounds.items() if given.get(name) is not None})


def _baseline(path: str | None) -> Baseline | None:
    if path is None:
        return None
    from onnxlint.core import baseline

    try:
        return baseline.load(path)
    except UnreadableInput as exc:
        raise OptionError(f"--baseline: {exc.path}: {exc.reason}") from None


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
