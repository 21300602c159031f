"""The DL/T 645 line (TCP client to a serial server) against the meter simulator over loopback:
every data identifier of the common set, abnormal replies, follow-up frames, a silent meter, a
bad checksum, address reading, and one exchange at a time on a shared line."""

from __future__ import annotations

import asyncio
import itertools
import socket
from datetime import datetime

import pytest

from services.core.devices.dlt645.frame import (
    ErrorReason,
    decode_frame,
    encode_frame,
)
from services.core.devices.dlt645.messages import address_request, parse_address_reply
from services.core.devices.dlt645.values import decode_value, decode_values
from services.ingest.dlt645.line import Dlt645Line, Dlt645LineSettings
from services.ingest.modbus.connection import FailureReason, PollError
from simulators.meters.dlt645_server import Dlt645Fault, Dlt645Server
from simulators.meters.server import running
from tests.support.dlt645 import COMMON, common_meters, mismatches, read_every_item


def _line(server: Dlt645Server, timeout_s: float = 0.5) -> Dlt645Line:
    return Dlt645Line(Dlt645LineSettings(host="127.0.0.1", port=server.port, timeout_s=timeout_s))


def test_every_data_identifier_of_the_common_set_reads_back_its_value() -> None:
    meters = common_meters(2)
    server = Dlt645Server(meters, update_s=3600)  # frozen values: exact comparison
    with running(server):
        answers = asyncio.run(read_every_item(_line(server), meters))
    assert mismatches(answers, meters) == []


def test_counters_never_go_back_and_the_freeze_is_midnight() -> None:
    meter = common_meters(1)[0]
    server = Dlt645Server([meter], update_s=0.05)
    forward = COMMON.fed_points()["energy_import_kwh"]
    assert forward.format is not None

    async def read_series() -> list[float]:
        line = _line(server)
        try:
            out = []
            for _ in range(20):
                payload = await line.read(meter.address, forward.di)
                out.append(decode_value(payload, forward.format))  # type: ignore[arg-type]
            return out
        finally:
            line.close()

    with running(server):
        series = asyncio.run(read_series())
    assert series == sorted(series)
    assert meter.frozen_at is not None
    assert meter.frozen_at.time() == datetime.min.time()
    assert meter.frozen_forward[0] <= series[0]


def test_an_identifier_the_meter_lacks_is_a_permanent_named_refusal() -> None:
    meter = common_meters(1)[0]
    server = Dlt645Server([meter], update_s=3600)

    async def read() -> None:
        line = _line(server)
        try:
            await line.read(meter.address, 0x04000401)  # not in the simulated meter's map
        finally:
            line.close()

    with running(server), pytest.raises(PollError) as caught:
        asyncio.run(read())
    assert caught.value.reason == FailureReason.EXCEPTION_CODE
    assert caught.value.permanent
    assert caught.value.exception_code == ErrorReason.NO_DATA
    assert "refused DI 04000401: no such data (无请求数据)" in str(caught.value)


def test_a_faulty_meter_error_byte_is_not_permanent() -> None:
    meter = common_meters(1)[0]
    server = Dlt645Server([meter], update_s=3600)
    server.faults[meter.address] = Dlt645Fault(err=ErrorReason.UNAUTHORISED)

    async def read() -> None:
        line = _line(server)
        try:
            await line.read(meter.address, 0x00010000)
        finally:
            line.close()

    with running(server), pytest.raises(PollError, match="密码错/未授权") as caught:
        asyncio.run(read())
    assert not caught.value.permanent


def test_long_data_arrives_in_follow_up_frames_and_is_joined() -> None:
    meter = common_meters(1)[0]
    block = next(i for i in COMMON.items if i.name == "daily_frozen_forward_active_energy")
    assert block.format is not None
    server = Dlt645Server([meter], update_s=3600, max_data=10)  # 6 data bytes a frame

    async def read() -> bytes:
        line = _line(server)
        try:
            return await line.read(meter.address, block.di)
        finally:
            line.close()

    with running(server):
        payload = asyncio.run(read())
        follow_ups = [e for e in server.exchanges if e.control == 0x12]
    assert decode_values(payload, block.format) == meter.values(block)
    assert len(follow_ups) == 3  # 20 bytes: 6 in the first reply, then 5 + 5 + 4


def test_a_silent_meter_times_out_and_the_next_meter_still_answers() -> None:
    meters = common_meters(2)
    server = Dlt645Server(meters, update_s=3600)
    server.faults[meters[0].address] = Dlt645Fault(silent=True)

    async def read() -> tuple[PollError | None, bytes]:
        line = _line(server, timeout_s=0.2)
        try:
            failed = None
            try:
                await line.read(meters[0].address, 0x00010000)
            except PollError as err:
                failed = err
            return failed, await line.read(meters[1].address, 0x00010000)
        finally:
            line.close()

    with running(server):
        failed, payload = asyncio.run(read())
    assert failed is not None
    assert failed.reason == FailureReason.TIMEOUT
    assert len(payload) == 4


def _raw_exchange(port: int, request: bytes, timeout_s: float = 0.5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request)
        try:
            return sock.recv(512)
        except TimeoutError:
            return b""


def test_a_bad_checksum_gets_no_answer_and_address_reading_finds_the_one_meter() -> None:
    meter = common_meters(1)[0]
    server = Dlt645Server([meter], update_s=3600)
    with running(server):
        bad = bytearray(encode_frame(address_request()))
        bad[-2] ^= 0x01
        assert _raw_exchange(server.port, bytes(bad), timeout_s=0.3) == b""
        reply = _raw_exchange(server.port, encode_frame(address_request()))
    assert parse_address_reply(decode_frame(reply)) == meter.address


def test_address_reading_with_two_meters_on_the_line_gets_no_answer() -> None:
    server = Dlt645Server(common_meters(2), update_s=3600)
    with running(server):
        assert _raw_exchange(server.port, encode_frame(address_request()), timeout_s=0.3) == b""


def test_a_shared_line_carries_one_exchange_at_a_time() -> None:
    meters = common_meters(4)
    server = Dlt645Server(meters, update_s=3600, baudrate=9600)

    async def poll_concurrently() -> None:
        line = _line(server)
        try:
            await asyncio.gather(
                *(line.read(m.address, 0x00010000) for m in meters for _ in range(3))
            )
        finally:
            line.close()

    with running(server):
        asyncio.run(poll_concurrently())
        exchanges = sorted(server.exchanges, key=lambda e: e.started_s)
    assert len(exchanges) == 12
    for before, after in itertools.pairwise(exchanges):
        assert after.started_s >= before.ended_s
    # 9600 baud, 11 bits a byte: a 20-byte request (with FE x4) and a 24-byte reply take 50 ms
    assert min(e.ended_s - e.started_s for e in exchanges) >= 44 * 11 / 9600 * 0.95
