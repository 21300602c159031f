"""DTU models: how a 4G DTU that dials in identifies itself and keeps its connection alive.

A DTU (data transfer unit) opens a TCP connection to the platform, sends a registration packet
that names it, then passes bytes transparently between the connection and its RS-485 port, with
a heartbeat packet now and then. What those packets hold is set on each DTU; a model data file
(``dtu_models/*.yaml``) says how to recognise them: a regular expression over bytes for each, the
registration's named group ``id`` holding the DTU's id, written as ASCII or as hex digits.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.core.errors import EnergymonError

MODELS_DIR = Path(__file__).with_name("dtu_models")
ID_ENCODINGS = ("ascii", "hex")


class DtuModelError(EnergymonError):
    pass


@dataclass(frozen=True)
class DtuModel:
    """``registration`` matches the first bytes of a connection; its group ``id`` is the DTU's id
    (``id_encoding`` ascii: those bytes as text; hex: their hex digits, upper case).
    ``heartbeat`` matches a heartbeat anywhere in the byte stream."""

    model: str
    title: str
    registration: re.Pattern[bytes]
    heartbeat: re.Pattern[bytes]
    id_encoding: str = "ascii"

    def identify(self, received: bytes) -> tuple[str, int] | None:
        """The DTU id and the bytes the registration used, or None when ``received`` does not
        start with a registration packet of this model (yet)."""
        match = self.registration.match(received)
        if match is None:
            return None
        raw = match.group("id")
        dtu_id = raw.hex().upper() if self.id_encoding == "hex" else raw.decode("ascii")
        return dtu_id, match.end()

    def strip_heartbeats(self, received: bytes) -> tuple[bytes, int]:
        """``received`` without the heartbeat packets in it, and how many there were."""
        return self.heartbeat.subn(b"", received)


def _pattern(text: Any, where: str) -> re.Pattern[bytes]:
    if not isinstance(text, str) or not text:
        raise DtuModelError(f"{where}: a regular expression (text) is required")
    try:
        # the file writes bytes as \xNN escapes; latin-1 maps each escape to that one byte
        return re.compile(text.encode("latin-1"), re.DOTALL)
    except (re.error, UnicodeEncodeError) as err:
        raise DtuModelError(f"{where}: {err}") from err


def parse_model(doc: Any, where: str) -> DtuModel:
    if not isinstance(doc, dict):
        raise DtuModelError(f"{where}: a mapping with model, registration and heartbeat")
    unknown = set(doc) - {"model", "title", "registration", "heartbeat", "id", "notes"}
    if unknown:
        raise DtuModelError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    registration = _pattern(doc.get("registration"), f"{where} registration")
    if "id" not in registration.groupindex:
        raise DtuModelError(f"{where} registration: the pattern needs a group (?P<id>...)")
    encoding = str(doc.get("id", "ascii"))
    if encoding not in ID_ENCODINGS:
        raise DtuModelError(f"{where} id: {encoding!r} is not one of {', '.join(ID_ENCODINGS)}")
    heartbeat = _pattern(doc.get("heartbeat"), f"{where} heartbeat")
    if heartbeat.match(b""):
        raise DtuModelError(f"{where} heartbeat: the pattern matches nothing at all")
    return DtuModel(
        str(doc.get("model", "")), str(doc.get("title", "")), registration, heartbeat, encoding
    )


def load_models(directory: Path | None = None) -> dict[str, DtuModel]:
    """The shipped models, then those of ``directory`` (``*.yaml`` starting ``dtu_model:``)."""
    models = dict(_shipped())
    if directory is not None:
        if not directory.is_dir():
            raise DtuModelError(f"DTU models directory {directory} does not exist")
        for path in sorted(directory.glob("*.yaml")):
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as err:
                raise DtuModelError(f"{path}: not YAML ({err})") from err
            if isinstance(doc, dict) and "dtu_model" in doc:
                model = parse_model(doc["dtu_model"], str(path))
                models[model.model] = model
    return models


@cache
def _shipped() -> dict[str, DtuModel]:
    models = {}
    for path in sorted(MODELS_DIR.glob("*.yaml")):
        model = parse_model(
            yaml.safe_load(path.read_text(encoding="utf-8"))["dtu_model"], path.name
        )
        models[model.model] = model
    return models
