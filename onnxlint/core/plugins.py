"""Third-party rules, registered under the entry-point group `onnxlint.rules`.

An entry point names a Rule subclass (or an instance of one). Its page comes from the class's `doc`
attribute (markdown with the same sections as rules/docs pages). A plugin may not reuse a built-in or
another plugin's code or slug.
"""

from __future__ import annotations

import importlib.metadata
from functools import cache

from onnxlint.core.registry import CODE_PATTERN, SLUG_PATTERN, Rule

GROUP = "onnxlint.rules"


class PluginError(Exception):
    """A plugin that cannot be used; the message names the entry point."""


@cache
def all_rules() -> tuple[Rule, ...]:
    """The built-in rules, then every installed plugin's, in entry-point name order."""
    from onnxlint.checks import ALL_RULES

    rules = list(ALL_RULES)
    for entry in sorted(importlib.metadata.entry_points(group=GROUP), key=lambda e: e.name):
        rules.append(_load(entry, rules))
    return tuple(rules)


def _load(entry: importlib.metadata.EntryPoint, known: list[Rule]) -> Rule:
    where = f"plugin '{entry.name}' ({entry.value})"
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plugin must not take the tool down with a traceback
        raise PluginError(f"{where}: cannot be imported ({type(exc).__name__}: {exc})") from None
    rule = loaded() if isinstance(loaded, type) and issubclass(loaded, Rule) else loaded
    if not isinstance(rule, Rule):
        raise PluginError(f"{where}: is not an onnxlint Rule subclass")
    for attribute in ("code", "name", "summary", "severity", "doc"):
        if not getattr(rule, attribute, None):
            raise PluginError(f"{where}: the rule has no '{attribute}'")
    if not CODE_PATTERN.match(rule.code) or not SLUG_PATTERN.match(rule.name):
        raise PluginError(f"{where}: code '{rule.code}' or slug '{rule.name}' has the wrong form (e.g. XY001, my-rule)")
    for other in known:
        if rule.code == other.code or rule.name == other.name:
            raise PluginError(f"{where}: {rule.code} {rule.name} clashes with {other.code} {other.name}")
    return rule
