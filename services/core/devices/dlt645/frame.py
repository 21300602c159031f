"""DL/T 645-2007 frames (the data-link layer's 帧格式), pure.

A frame on the wire is ``68H A0..A5 68H C L DATA CS 16H``:

- ``A0..A5``: the meter's 12-digit address, two BCD digits a byte, low byte first; a byte
  ``AAH`` is a wildcard (缩位寻址) and ``AAAAAAAAAAAA`` reaches whatever single meter is on the line
  (reading the address, clause 7.4);
- ``C``: the control code, D7 direction (1 = the meter's reply), D6 abnormal reply, D5 follow-up
  frame exists (后续帧), D4..D0 the function;
- ``L``: the number of data bytes; every data byte travels plus 33H (modulo 256);
- ``CS``: the sum modulo 256 of every byte from the first 68H to the last data byte.

Up to four ``FEH`` wake-up bytes (前导字节) may precede a frame; they are sent before a request and
skipped on receive. A :class:`Frame` holds the data bytes *without* the 33H offset.

The standard's clause number for the frame format could not be confirmed from the sources at hand,
so it is cited by name only; the application-layer clauses are 7.1 (read data), 7.2 (read
follow-up data) and 7.4 (read address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from services.core.errors import EnergymonError

START = 0x68
END = 0x16
WAKE_UP = bytes([0xFE] * 4)
DATA_OFFSET = 0x33
MAX_DATA = 255  # L is one byte
HEADER = 10  # 68 A0..A5 68 C L
MIN_FRAME = HEADER + 2  # ... CS 16

REPLY = 0x80  # D7: sent by the meter
ABNORMAL = 0x40  # D6: the meter could not answer (错误信息字 in the data)
FOLLOW_UP = 0x20  # D5: more data follows in a follow-up frame
FUNCTION_MASK = 0x1F

WILDCARD_ADDRESS = "AAAAAAAAAAAA"
_ADDRESS = re.compile(r"^[0-9Aa]{12}$")


class Function(IntEnum):
    """The function codes (D4..D0 of the control code) this codec speaks."""

    READ_DATA = 0x11  # clause 7.1
    READ_FOLLOW_UP = 0x12  # clause 7.2
    READ_ADDRESS = 0x13  # clause 7.4


class ErrorReason(IntFlag):
    """The bits of the error information byte (错误信息字 ERR) of an abnormal reply; bit 7 is
    reserved (保留)."""

    OTHER = 0x01  # 其他错误
    NO_DATA = 0x02  # 无请求数据: the meter does not hold the requested data identifier
    UNAUTHORISED = 0x04  # 密码错/未授权
    BAUD_RATE_FIXED = 0x08  # 通信速率不能更改
    TOO_MANY_YEAR_ZONES = 0x10  # 年时区数超
    TOO_MANY_DAY_PERIODS = 0x20  # 日时段数超
    TOO_MANY_TARIFFS = 0x40  # 费率数超


_REASON_TEXT = {
    ErrorReason.OTHER: "other error (其他错误)",
    ErrorReason.NO_DATA: "no such data (无请求数据)",
    ErrorReason.UNAUTHORISED: "wrong password or unauthorised (密码错/未授权)",
    ErrorReason.BAUD_RATE_FIXED: "baud rate cannot be changed (通信速率不能更改)",
    ErrorReason.TOO_MANY_YEAR_ZONES: "too many year zones (年时区数超)",
    ErrorReason.TOO_MANY_DAY_PERIODS: "too many day periods (日时段数超)",
    ErrorReason.TOO_MANY_TARIFFS: "too many tariffs (费率数超)",
}


def describe_reasons(err: int) -> list[str]:
    """Each set bit of an ERR byte in words; a reserved bit is named as such."""
    texts = [text for flag, text in _REASON_TEXT.items() if err & flag]
    if err & 0x80:
        texts.append("reserved bit 7 set (保留)")
    return texts or ["no reason given (ERR = 00H)"]


class FrameError(EnergymonError):
    """Bytes that are not a valid DL/T 645 frame; ``reason`` says which rule they break."""

    def __init__(self, reason: str, raw: bytes) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(f"not a DL/T 645 frame: {reason} ({raw.hex(' ').upper()})")


@dataclass(frozen=True, slots=True)
class Frame:
    address: str  # 12 characters, most significant digit first, e.g. "202107072529"
    control: int
    data: bytes = b""  # without the 33H offset

    @property
    def function(self) -> int:
        return self.control & FUNCTION_MASK

    @property
    def is_reply(self) -> bool:
        return bool(self.control & REPLY)

    @property
    def is_abnormal(self) -> bool:
        return bool(self.control & ABNORMAL)

    @property
    def has_follow_up(self) -> bool:
        return bool(self.control & FOLLOW_UP)


def address_to_wire(address: str) -> bytes:
    """The six address bytes, low byte first; ``A`` digits are the wildcard nibble."""
    if not _ADDRESS.match(address):
        raise ValueError(f"a DL/T 645 address is 12 digits (0-9, or A as a wildcard): {address!r}")
    pairs = [address[i : i + 2] for i in range(0, 12, 2)]
    return bytes(int(p, 16) for p in reversed(pairs))


def address_from_wire(wire: bytes) -> str:
    digits = wire[::-1].hex().upper()
    if not _ADDRESS.match(digits):
        raise ValueError(f"address bytes {wire.hex(' ').upper()} are not BCD")
    return digits


def checksum(body: bytes) -> int:
    return sum(body) % 256


def encode_frame(frame: Frame, *, wake_up: bool = True) -> bytes:
    """The bytes on the wire, with the four FEH wake-up bytes unless ``wake_up`` is false."""
    if len(frame.data) > MAX_DATA:
        raise ValueError(f"{len(frame.data)} data bytes; a frame holds at most {MAX_DATA}")
    if not 0 <= frame.control <= 0xFF:
        raise ValueError(f"control code {frame.control} is not a byte")
    body = (
        bytes([START])
        + address_to_wire(frame.address)
        + bytes([START, frame.control, len(frame.data)])
        + bytes((b + DATA_OFFSET) % 256 for b in frame.data)
    )
    return (WAKE_UP if wake_up else b"") + body + bytes([checksum(body), END])


def decode_frame(raw: bytes) -> Frame:
    """The one frame in ``raw`` (wake-up bytes allowed before it, nothing after it)."""
    frame, used = take_frame(raw)
    if frame is None:
        raise FrameError(f"incomplete frame ({len(raw)} bytes)", raw)
    if used != len(raw):
        raise FrameError(f"{len(raw) - used} bytes after the end of the frame", raw)
    return frame


def take_frame(buffer: bytes) -> tuple[Frame | None, int]:
    """The first frame of a receive buffer and the number of bytes it used, or ``(None, 0)`` while
    the frame is incomplete. Wake-up bytes before the first 68H are skipped; anything else there
    is an error, as is a frame whose second 68H, checksum or end byte is wrong."""
    skip = 0
    while skip < len(buffer) and buffer[skip] == 0xFE:
        skip += 1
    rest = buffer[skip:]
    if not rest:
        return None, 0
    if rest[0] != START:
        raise FrameError(f"expected 68H at byte {skip}, got {rest[0]:02X}H", buffer)
    if len(rest) < HEADER:
        return None, 0
    if rest[7] != START:
        raise FrameError(f"expected the second 68H at byte {skip + 7}, got {rest[7]:02X}H", buffer)
    length = rest[9]
    total = HEADER + length + 2
    if len(rest) < total:
        return None, 0
    body = rest[: HEADER + length]
    received, end = rest[HEADER + length], rest[HEADER + length + 1]
    if checksum(body) != received:
        raise FrameError(
            f"checksum {received:02X}H, the bytes sum to {checksum(body):02X}H",
            buffer[: skip + total],
        )
    if end != END:
        raise FrameError(f"expected the end byte 16H, got {end:02X}H", buffer[: skip + total])
    try:
        address = address_from_wire(rest[1:7])
    except ValueError as err:
        raise FrameError(str(err), buffer[: skip + total]) from err
    data = bytes((b - DATA_OFFSET) % 256 for b in rest[HEADER : HEADER + length])
    return Frame(address, rest[8], data), skip + total
