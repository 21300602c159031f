"""Loading and checking device map files (one YAML file per meter model)."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.core.devices.dlt645.loader import is_dlt645_map
from services.core.devices.map_files import pick_map, read_maps
from services.core.devices.model import DataType, DeviceMap, Function, RegisterEntry, WordOrder
from services.core.domain.quantities import QUANTITIES
from services.core.domain.units import conversion_factor
from services.core.errors import EnergymonError, UnitError
from services.core.yaml_errors import yaml_line, yaml_problem

MAPS_DIR = Path(__file__).with_name("maps")


class DeviceMapError(EnergymonError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _parse(doc: Any) -> tuple[DeviceMap | None, list[str]]:
    problems: list[str] = []
    if not isinstance(doc, dict):
        return None, ["the file must be a mapping with model, manufacturer and registers"]
    for key in ("model", "manufacturer", "title", "datasheet", "registers"):
        if key not in doc:
            problems.append(f"missing {key!r}")
    defaults = doc.get("defaults") or {}
    entries: list[RegisterEntry] = []
    names: set[str] = set()
    for i, raw in enumerate(doc.get("registers") or []):
        where = f"registers[{i}] ({raw.get('name', '?') if isinstance(raw, dict) else '?'})"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        merged = {**defaults, **raw}
        try:
            entry = RegisterEntry(
                name=str(merged["name"]),
                function=Function(merged.get("function", "holding")),
                address=int(merged["address"]),
                dtype=DataType(merged.get("type", "uint16")),
                order=WordOrder(merged.get("order", "ABCD")),
                scale=float(merged.get("scale", 1.0)),
                offset=float(merged.get("offset", 0.0)),
                unit=str(merged.get("unit", "")),
                point=merged.get("point"),
            )
        except KeyError as err:
            problems.append(f"{where}: missing {err.args[0]!r}")
            continue
        except ValueError as err:
            problems.append(
                f"{where}: {err} (types: {', '.join(DataType)}; orders: "
                f"{', '.join(WordOrder)}; functions: holding, input)"
            )
            continue
        problems += _check_entry(entry, where, names)
        names.add(entry.name)
        entries.append(entry)
    rejects = []
    for r in doc.get("rejects") or []:
        try:
            rejects.append((Function(r["function"]), int(r["start"]), int(r["end"])))
        except (KeyError, ValueError, TypeError) as err:
            problems.append(f"rejects: {r!r} is not {{function, start, end}} ({err})")
    problems += _overlaps(entries)
    if problems:
        return None, problems
    return DeviceMap(
        str(doc["model"]),
        str(doc["manufacturer"]),
        str(doc["title"]),
        str(doc["datasheet"]),
        tuple(entries),
        tuple(rejects),
    ), []


def _check_entry(entry: RegisterEntry, where: str, names: set[str]) -> list[str]:
    problems = []
    if entry.name in names:
        problems.append(f"{where}: the name {entry.name!r} is used twice")
    if entry.address < 0 or entry.end > 65536:
        problems.append(
            f"{where}: address {entry.address} + {entry.count} registers is outside 0..65535"
        )
    if entry.count == 1 and entry.order in (WordOrder.CDAB,):
        problems.append(
            f"{where}: word order CDAB means nothing for a one-register {entry.dtype}"
            " (use ABCD, or BADC to swap bytes)"
        )
    if entry.scale == 0:
        problems.append(f"{where}: scale 0 would make every value {entry.offset}")
    if entry.point is not None:
        q = QUANTITIES.get(entry.point)
        if q is None:
            problems.append(
                f"{where}: unknown point {entry.point!r}; known: {', '.join(sorted(QUANTITIES))}"
            )
        elif entry.unit:
            try:
                conversion_factor(entry.unit, q.unit)
            except UnitError:
                problems.append(
                    f"{where}: unit {entry.unit!r} cannot feed {entry.point} ({q.unit})"
                )
    return problems


def _overlaps(entries: list[RegisterEntry]) -> list[str]:
    problems = []
    for function in Function:
        ordered = sorted((e for e in entries if e.function == function), key=lambda e: e.address)
        for a, b in itertools.pairwise(ordered):
            if b.address < a.end:
                problems.append(
                    f"{b.name} ({function} {b.address}) overlaps {a.name} "
                    f"({a.address}..{a.end - 1})"
                )
    return problems


def check_map(text: str) -> list[str]:
    """Every problem of a map file's text, or an empty list."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        line = yaml_line(err)
        return [f"{f'line {line}: ' if line else ''}not valid YAML: {yaml_problem(err)}"]
    return _parse(doc)[1]


def load_map(text: str) -> DeviceMap:
    device, problems = _parse(yaml.safe_load(text))
    if device is None:
        raise DeviceMapError(problems)
    return device


@cache
def shipped_maps() -> dict[str, DeviceMap]:
    """The maps in services/core/devices/maps, by model id."""
    return read_maps(MAPS_DIR, load_map)


def get_map(model: str, extra_dir: Path | None = None) -> DeviceMap:
    # DL/T 645 maps may share the directory; they are not Modbus maps
    extra = read_maps(extra_dir, load_map, lambda t: not is_dlt645_map(t)) if extra_dir else None
    return pick_map(
        shipped_maps(),
        model,
        extra=extra,
        missing=lambda known: DeviceMapError([f"no device map {known}"]),
    )


def check_command(path: str) -> int:
    """`energymon devices check FILE`: print problems; 0 when the map is valid."""
    problems = check_map(Path(path).read_text(encoding="utf-8"))
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        device = load_map(Path(path).read_text(encoding="utf-8"))
        fed = ", ".join(sorted(device.fed_points()))
        print(
            f"{path}: ok — {device.manufacturer} {device.model}, {len(device.registers)} "
            f"registers, feeds {fed or 'no points'}"
        )
    return 1 if problems else 0
