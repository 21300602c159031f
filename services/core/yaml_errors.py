"""A YAML syntax error in words a user can act on: one line, and the line of the file."""

from __future__ import annotations

import yaml


def yaml_line(err: yaml.YAMLError) -> int | None:
    """The 1-based line where the parser gave up, when it says."""
    mark = getattr(err, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def yaml_problem(err: yaml.YAMLError) -> str:
    """What the parser expected and found, with its column, e.g. ``expected ',' or ']', but got
    '<stream end>' (column 1, while parsing a flow sequence)``; PyYAML's own text spans lines."""
    problem = getattr(err, "problem", None) or (str(err).splitlines() or ["invalid"])[0]
    mark = getattr(err, "problem_mark", None)
    context = getattr(err, "context", None)
    notes = [f"column {mark.column + 1}"] if mark is not None else []
    notes += [context] if context else []
    return f"{problem} ({', '.join(notes)})" if notes else str(problem)
