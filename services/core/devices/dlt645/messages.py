"""DL/T 645-2007 requests and replies of the application layer, pure.

- Read data (clause 7.1): request ``C = 11H``, data ``DI0 DI1 DI2 DI3``; normal reply ``91H`` (or
  ``B1H`` when follow-up frames hold the rest) with ``DI0..DI3`` then the data; abnormal reply
  ``D1H`` with one error information byte (错误信息字 ERR).
- Read follow-up data (clause 7.2): request ``C = 12H``, data ``DI0..DI3 SEQ``; reply ``92H`` (last)
  or ``B2H`` (more follows) with ``DI0..DI3``, the data, then ``SEQ``; abnormal reply ``D2H``.
- Read address (clause 7.4): request ``C = 13H`` to ``AAAAAAAAAAAA`` with no data; reply ``93H``
  with the six address bytes as data. Only one meter may be on the line when this is sent.

A data identifier is written here as DI3 DI2 DI1 DI0, the way the standard's Appendix A tables
list it (``0x00010000`` = forward active total energy); it travels DI0 first.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.devices.dlt645.frame import (
    ABNORMAL,
    FOLLOW_UP,
    REPLY,
    WILDCARD_ADDRESS,
    ErrorReason,
    Frame,
    Function,
    address_from_wire,
    address_to_wire,
    describe_reasons,
)
from services.core.errors import EnergymonError


class MeterError(EnergymonError):
    """The meter answered with an abnormal reply; ``reasons`` are the ERR byte's bits in words."""

    def __init__(self, address: str, function: int, err: int, di: int | None = None) -> None:
        self.address = address
        self.function = function
        self.err = err
        self.di = di
        self.reasons = describe_reasons(err)
        what = f"DI {di:08X}" if di is not None else f"function {function:02X}H"
        super().__init__(f"meter {address} refused {what}: {'; '.join(self.reasons)}")

    @property
    def no_data(self) -> bool:
        return bool(self.err & ErrorReason.NO_DATA)


class ReplyError(EnergymonError):
    """A well-formed frame that is not the reply to the request that was sent."""


def di_to_wire(di: int) -> bytes:
    if not 0 <= di <= 0xFFFFFFFF:
        raise ValueError(f"a data identifier is four bytes: {di:#x}")
    return di.to_bytes(4, "little")


def read_request(address: str, di: int) -> Frame:
    return Frame(address, Function.READ_DATA, di_to_wire(di))


def follow_up_request(address: str, di: int, seq: int) -> Frame:
    return Frame(address, Function.READ_FOLLOW_UP, di_to_wire(di) + bytes([seq % 256]))


def address_request() -> Frame:
    return Frame(WILDCARD_ADDRESS, Function.READ_ADDRESS)


@dataclass(frozen=True, slots=True)
class ReadReply:
    address: str
    di: int
    payload: bytes  # the data after DI0..DI3 (and before SEQ in a follow-up reply)
    more: bool  # another follow-up frame holds the rest
    seq: int | None = None  # the frame sequence number of a follow-up reply


def parse_read_reply(frame: Frame, request: Frame) -> ReadReply:
    """The data of a reply to ``request`` (read data or read follow-up data); an abnormal reply
    raises :class:`MeterError`, a reply to something else :class:`ReplyError`."""
    di = int.from_bytes(request.data[:4], "little")
    _check_reply(frame, request, di)
    if len(frame.data) < 4:
        raise ReplyError(f"reply of {len(frame.data)} data bytes has no data identifier")
    got = int.from_bytes(frame.data[:4], "little")
    if got != di:
        raise ReplyError(f"asked for DI {di:08X}, the meter answered DI {got:08X}")
    if request.function == Function.READ_FOLLOW_UP:
        if len(frame.data) < 5:
            raise ReplyError("a follow-up reply ends with its frame sequence number")
        return ReadReply(frame.address, di, frame.data[4:-1], frame.has_follow_up, frame.data[-1])
    return ReadReply(frame.address, di, frame.data[4:], frame.has_follow_up)


def parse_address_reply(frame: Frame) -> str:
    request = address_request()
    _check_reply(frame, request, None)
    if len(frame.data) != 6:
        raise ReplyError(f"an address reply holds 6 bytes, not {len(frame.data)}")
    address = address_from_wire(frame.data)
    if address != frame.address:
        raise ReplyError(f"address reply from {frame.address} names {address}")
    return address


def _check_reply(frame: Frame, request: Frame, di: int | None) -> None:
    if not frame.is_reply:
        raise ReplyError(f"control code {frame.control:02X}H is a request, not a reply")
    if frame.function != request.function:
        raise ReplyError(
            f"reply to function {frame.function:02X}H, the request was {request.function:02X}H"
        )
    if request.address != WILDCARD_ADDRESS and not _matches(request.address, frame.address):
        raise ReplyError(f"reply from meter {frame.address}, the request went to {request.address}")
    if frame.is_abnormal:
        raise MeterError(frame.address, frame.function, frame.data[0] if frame.data else 0, di)


def _matches(pattern: str, address: str) -> bool:
    return all(p in "Aa" or p == a for p, a in zip(pattern, address, strict=True))


# What a meter sends (the simulator's side).


def read_reply(address: str, di: int, payload: bytes, *, more: bool = False) -> Frame:
    control = REPLY | Function.READ_DATA | (FOLLOW_UP if more else 0)
    return Frame(address, control, di_to_wire(di) + payload)


def follow_up_reply(address: str, di: int, payload: bytes, seq: int, *, more: bool) -> Frame:
    control = REPLY | Function.READ_FOLLOW_UP | (FOLLOW_UP if more else 0)
    return Frame(address, control, di_to_wire(di) + payload + bytes([seq % 256]))


def abnormal_reply(address: str, function: int, err: int) -> Frame:
    return Frame(address, REPLY | ABNORMAL | function, bytes([err]))


def address_reply(address: str) -> Frame:
    return Frame(address, REPLY | Function.READ_ADDRESS, address_to_wire(address))
