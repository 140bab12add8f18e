"""The engine's core: loading a model, its graph view, findings, the rule base, running rules, and the policy
applied to their findings."""
