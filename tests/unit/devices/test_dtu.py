"""DTU models: registration packets identified with their id, heartbeats cut out of a byte stream
wherever they fall, and model files that cannot work refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.devices.dlt645.frame import Frame, encode_frame
from services.core.devices.dtu import DtuModelError, load_models, parse_model
from simulators.meters.dlt645_dtu import packets

MODELS = load_models()
REPLY = encode_frame(Frame("000000000001", 0x91, bytes.fromhex("00000100") + b"\x12\x34\x56\x00"))


@pytest.mark.parametrize(
    ("model", "dtu_id"),
    [("generic-ascii", "866123456789012"), ("generic-hex", "0866123456789012")],
)
def test_the_simulated_dtu_registers_with_its_id_and_its_heartbeats_are_cut_out(
    model: str, dtu_id: str
) -> None:
    registration, heartbeat = packets(model, dtu_id)
    assert MODELS[model].identify(registration + REPLY) == (dtu_id, len(registration))
    half = len(REPLY) // 2
    stream = heartbeat + REPLY[:half] + heartbeat + REPLY[half:] + heartbeat
    assert MODELS[model].strip_heartbeats(stream) == (REPLY, 3)


def test_an_incomplete_registration_is_not_identified_yet() -> None:
    assert MODELS["generic-ascii"].identify(b"REG:DTU-7") is None
    assert MODELS["generic-ascii"].identify(b"REG:DTU-7\r\n") == ("DTU-7", 11)


def test_a_registration_from_another_model_is_not_taken_for_this_one() -> None:
    registration, _ = packets("generic-ascii", "DTU-7")
    assert MODELS["generic-hex"].identify(registration) is None


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"registration": "REG:(.*)\r\n", "heartbeat": "HB"}, "needs a group"),
        ({"registration": "REG:(?P<id>.*)", "heartbeat": "x*"}, "matches nothing"),
        ({"registration": "REG:(?P<id>.*", "heartbeat": "HB"}, "missing \\)"),
        ({"registration": "(?P<id>.)", "heartbeat": "HB", "id": "base64"}, "not one of"),
        ({"registration": "(?P<id>.)", "heartbeat": "HB", "vendor": "x"}, "unknown keys vendor"),
    ],
)
def test_a_model_that_cannot_work_is_refused_with_the_reason(
    doc: dict[str, str], problem: str
) -> None:
    with pytest.raises(DtuModelError, match=problem):
        parse_model({"model": "m", **doc}, "m.yaml")


def test_a_model_file_of_ones_own_joins_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        "dtu_model:\n  model: site\n  registration: 'ID=(?P<id>\\d{4});'\n  heartbeat: 'PING;'\n",
        encoding="utf-8",
    )
    (tmp_path / "a-meter-map.yaml").write_text("model: not-a-dtu\n", encoding="utf-8")
    models = load_models(tmp_path)
    assert set(models) == {"generic-ascii", "generic-hex", "site"}
    assert models["site"].identify(b"ID=0042;PING;") == ("0042", 8)


def test_a_missing_models_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(DtuModelError, match="does not exist"):
        load_models(tmp_path / "nowhere")
