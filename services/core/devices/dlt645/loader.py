"""Loading and checking DL/T 645 data identifier maps (one YAML file per meter family).

Every problem names the item and the line of the file it is on, so a field engineer editing a map
can go straight to it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.core.devices.dlt645.model import TABLE_DI3, TIME_FORMAT, DataItem, DataMap
from services.core.devices.dlt645.values import parse_format
from services.core.devices.map_files import pick_map, read_maps
from services.core.domain.quantities import QUANTITIES
from services.core.domain.units import conversion_factor
from services.core.errors import EnergymonError, UnitError
from services.core.yaml_errors import yaml_line, yaml_problem

MAPS_DIR = Path(__file__).with_name("maps")
_DI = re.compile(r"^[0-9A-Fa-f]{8}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PROTOCOL = re.compile(r"^protocol:\s*dlt645\s*(#.*)?$", re.MULTILINE)
_KEYS = {"name", "di", "format", "signed", "block", "unit", "table", "title", "point"}


class DataMapError(EnergymonError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def is_dlt645_map(text: str) -> bool:
    """Whether a device map file declares ``protocol: dlt645`` (Modbus maps declare nothing)."""
    return bool(_PROTOCOL.search(text))


def _item_lines(text: str) -> list[int]:
    """The 1-based line of each entry of ``items``, in order."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "items" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


def _parse(doc: Any, lines: list[int]) -> tuple[DataMap | None, list[str]]:
    if not isinstance(doc, dict):
        return None, ["the file must be a mapping with protocol, model, title, standard and items"]
    problems = [f"missing {k!r}" for k in ("model", "title", "standard", "items") if k not in doc]
    if doc.get("protocol") != "dlt645":
        problems.append("protocol must be dlt645")
    items: list[DataItem] = []
    names: set[str] = set()
    dis: dict[int, str] = {}
    for i, raw in enumerate(doc.get("items") or []):
        line = f"line {lines[i]}: " if i < len(lines) else ""
        label = raw.get("name", "?") if isinstance(raw, dict) else "?"
        where = f"{line}items[{i}] ({label})"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        item, item_problems = _item(raw, where)
        problems += item_problems
        if item is None:
            continue
        if item.name in names:
            problems.append(f"{where}: the name {item.name!r} is used twice")
        if item.di in dis:
            problems.append(f"{where}: DI {item.di_text} is already {dis[item.di]}")
        names.add(item.name)
        dis[item.di] = item.name
        items.append(item)
    if problems:
        return None, problems
    return DataMap(str(doc["model"]), str(doc["title"]), str(doc["standard"]), tuple(items)), []


def _item(raw: dict[str, Any], where: str) -> tuple[DataItem | None, list[str]]:
    problems = [f"{where}: unknown key {k!r}" for k in raw if k not in _KEYS]
    missing = [k for k in ("name", "di", "format", "table", "title") if k not in raw]
    if missing:
        return None, [*problems, f"{where}: missing {', '.join(map(repr, missing))}"]
    name, di_raw, fmt_text = raw["name"], raw["di"], str(raw["format"])
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}: name must be lower_snake_case")
    if not isinstance(di_raw, str) or not _DI.match(di_raw):
        hint = " (quote it: YAML reads 00010000 as a number)" if isinstance(di_raw, int) else ""
        return None, [*problems, f"{where}: di must be 8 hex digits DI3 DI2 DI1 DI0{hint}"]
    di = int(di_raw, 16)
    table = str(raw["table"])
    if table not in TABLE_DI3:
        problems.append(f"{where}: table {table!r} is not one of {', '.join(TABLE_DI3)}")
    elif di >> 24 != TABLE_DI3[table]:
        problems.append(
            f"{where}: DI {di_raw} has DI3 {di >> 24:02X}, table {table} holds DI3 "
            f"{TABLE_DI3[table]:02X}"
        )
    signed, block = raw.get("signed", False), raw.get("block", False)
    if not isinstance(signed, bool) or not isinstance(block, bool):
        problems.append(f"{where}: signed and block are true or false")
    unit, point = str(raw.get("unit", "")), raw.get("point")
    fmt = None
    if fmt_text == TIME_FORMAT:
        if signed or block or unit or point is not None:
            problems.append(f"{where}: a {TIME_FORMAT} item has no sign, block, unit or point")
    else:
        try:
            fmt = parse_format(fmt_text, signed=bool(signed))
        except ValueError as err:
            problems.append(f"{where}: {err} (or {TIME_FORMAT} for a time)")
        if not unit:
            problems.append(f"{where}: missing 'unit'")
    problems += _check_point(point, unit, block, where)
    item = DataItem(name, di, fmt, unit, table, str(raw["title"]), point, bool(block))
    return (None if problems else item), problems


def _check_point(point: Any, unit: str, block: bool, where: str) -> list[str]:
    if point is None:
        return []
    q = QUANTITIES.get(point)
    if q is None:
        return [f"{where}: unknown point {point!r}; known: {', '.join(sorted(QUANTITIES))}"]
    if block:
        return [f"{where}: a data block cannot feed a point (read its total as its own DI)"]
    try:
        conversion_factor(unit, q.unit)
    except UnitError:
        return [f"{where}: unit {unit!r} cannot feed {point} ({q.unit})"]
    return []


def check_map(text: str) -> list[str]:
    """Every problem of a DL/T 645 map file's text, or an empty list."""
    try:
        doc = yaml.safe_load(text)
        lines = _item_lines(text)
    except yaml.YAMLError as err:
        line = yaml_line(err)
        return [f"{f'line {line}: ' if line else ''}not valid YAML: {yaml_problem(err)}"]
    return _parse(doc, lines)[1]


def load_map(text: str) -> DataMap:
    data_map, problems = _parse(yaml.safe_load(text), _item_lines(text))
    if data_map is None:
        raise DataMapError(problems)
    return data_map


@cache
def shipped_maps() -> dict[str, DataMap]:
    """The maps in services/core/devices/dlt645/maps, by model id."""
    return read_maps(MAPS_DIR, load_map)


def get_map(model: str, extra_dir: Path | None = None) -> DataMap:
    extra = read_maps(extra_dir, load_map, is_dlt645_map) if extra_dir else None
    return pick_map(
        shipped_maps(),
        model,
        extra=extra,
        missing=lambda known: DataMapError([f"no DL/T 645 map {known}"]),
    )


def check_command(path: str, text: str) -> int:
    """`energymon devices check FILE` for a DL/T 645 map: print problems; 0 when valid."""
    problems = check_map(text)
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        data_map = load_map(text)
        fed = ", ".join(sorted(data_map.fed_points()))
        print(
            f"{path}: ok — DL/T 645 {data_map.model}, {len(data_map.items)} data identifiers, "
            f"feeds {fed or 'no points'}"
        )
    return 1 if problems else 0
