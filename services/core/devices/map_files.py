"""Reading a directory of device map files (Modbus or DL/T 645) into maps by model id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar


class _HasModel(Protocol):
    @property
    def model(self) -> str: ...


M = TypeVar("M", bound=_HasModel)


def read_maps(
    directory: Path, load: Callable[[str], M], accept: Callable[[str], bool] | None = None
) -> dict[str, M]:
    """Every ``*.yaml`` map of ``directory`` that ``accept`` takes (all by default), by model id;
    a later file of the same model replaces an earlier one (files are read in name order)."""
    maps: dict[str, M] = {}
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if accept is None or accept(text):
            loaded = load(text)
            maps[loaded.model] = loaded
    return maps


def pick_map(
    shipped: dict[str, M],
    model: str,
    *,
    extra: dict[str, M] | None = None,
    missing: Callable[[str], Exception],
) -> M:
    """The map of ``model``, a file of ``extra`` overriding a shipped one; ``missing(text)`` is
    the error to raise, with a text naming the known models."""
    maps = {**shipped, **(extra or {})}
    try:
        return maps[model]
    except KeyError:
        raise missing(f"{model!r}; known: {', '.join(sorted(maps))}") from None
