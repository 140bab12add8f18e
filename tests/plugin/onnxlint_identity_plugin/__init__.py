"""An example onnxlint plugin: one rule that flags Identity nodes."""

from __future__ import annotations

from collections.abc import Iterator

from onnxlint import Finding, ModelContext, Rule, Severity


class IdentityNode(Rule):
    code = "XP001"
    name = "identity-node"
    summary = "An Identity node that an optimizer would remove"
    severity = Severity.INFO
    doc = """# XP001 identity-node

An Identity node that an optimizer would remove.

## What it catches

Identity nodes in the main graph.

## Why it breaks deployment

It does not; it is an example of a plugin rule.

## Example

A graph with `y = Identity(x)`.

## Fix

Run onnxsim.

## Confirmation

None.
"""

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for node in ctx.main.nodes_of("Identity"):
            yield self.finding(f"{node.name} copies its input unchanged", node=node, fix="Run onnxsim")
