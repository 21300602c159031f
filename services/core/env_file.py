"""A shell file of ``ENERGYMON_*`` settings: ``source var/demo/env`` points the CLI at the services
a process started (the demo's embedded PostgreSQL and Mosquitto on their own ports)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from services.core.config_doc import SETTINGS, rows

HEADER = (
    "# Written by energymon; `source` this file to point energymon commands at these services.\n"
)


def known_variables() -> frozenset[str]:
    return frozenset(row.variable for cls in SETTINGS for row in rows(cls))


def render_env_file(settings: Mapping[str, str]) -> str:
    """``export NAME=value`` lines, quoted for sh/bash/zsh; every name must be a known setting."""
    unknown = sorted(set(settings) - known_variables())
    if unknown:
        raise ValueError(f"not energymon settings: {', '.join(unknown)}")
    lines = [f"export {name}={shlex.quote(value)}\n" for name, value in sorted(settings.items())]
    return HEADER + "".join(lines)


def write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """Write ``settings`` to ``path``, readable by its owner only (URLs may carry passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_env_file(settings))
    path.chmod(0o600)  # an existing file keeps its mode through O_CREAT
