"""Each rule's page in rules/docs/<CODE>-<slug>.md: the one source for `explain` and the README table."""

from __future__ import annotations

import re
from importlib import resources

from onnxlint.core.registry import Rule

HEADINGS = ("What it catches", "Why it breaks deployment", "Example", "Fix", "Confirmation")


def page_name(rule: Rule) -> str:
    return f"{rule.code}-{rule.name}.md"


def doc_files() -> dict[str, str]:
    """{file name: text} of every page shipped in onnxlint.rules/docs."""
    folder = resources.files("onnxlint.rules").joinpath("docs")
    return {entry.name: entry.read_text(encoding="utf-8") for entry in folder.iterdir() if entry.name.endswith(".md")}


def read_page(rule: Rule) -> str:
    if rule.doc is not None:  # a plugin's rule carries its page
        return rule.doc
    return (resources.files("onnxlint.rules") / "docs" / page_name(rule)).read_text(encoding="utf-8")


def sections(page: str) -> dict[str, str]:
    """{'## heading' text: body} of a page, in order."""
    parts = re.split(r"^## +(.+?)\s*$", page, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def readme_table(rules) -> str:
    """The rule table the README carries between its `rules:begin`/`rules:end` markers."""
    lines = ["| code | rule | severity | inputs | what it catches |", "|---|---|---|---|---|"]
    for rule in rules:
        lines.append(
            f"| [{rule.code}](rules/docs/{page_name(rule)}) | `{rule.name}` | {rule.severity.value} | "
            f"{', '.join(sorted(rule.inputs))} | {rule.summary} |"
        )
    return "\n".join(lines)
