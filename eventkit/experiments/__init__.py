"""A/B experiments on feature flags: definitions, analysis and statistics.

See docs/experiments.md.
"""
