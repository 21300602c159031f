"""DL/T 645-2007 data formats (数据格式), pure.

A format such as ``XXXXXX.XX`` is packed BCD, two digits a byte, low byte first; the point gives
the implied decimals. Where the standard's Appendix A marks a value as signed, the highest bit of
its most significant byte is the sign (1 = negative) and the rest is the magnitude, so a signed
``XXX.XXX`` spans -79.999..79.999 x 10 (the top digit loses its high bit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

_FORMAT = re.compile(r"^(X+)(?:\.(X+))?$")
SIGN = 0x80


@dataclass(frozen=True, slots=True)
class ValueFormat:
    text: str  # e.g. "XXXXXX.XX"
    decimals: int
    length: int  # bytes
    signed: bool = False

    @property
    def digits(self) -> int:
        return self.length * 2

    @property
    def max_raw(self) -> int:
        # a signed value's top nibble keeps only three bits of magnitude
        top = 8 if self.signed else 10
        return int(top * 10 ** (self.digits - 1) - 1)

    @property
    def max_value(self) -> float:
        return float(Decimal(self.max_raw).scaleb(-self.decimals))


def parse_format(text: str, *, signed: bool = False) -> ValueFormat:
    """``XXX.X`` → 2 bytes, 1 decimal. The digit count must be even: one byte holds two."""
    match = _FORMAT.match(text)
    if match is None:
        raise ValueError(f"format {text!r} is not X digits with an optional point, e.g. XXXXXX.XX")
    whole, frac = match.group(1), match.group(2) or ""
    digits = len(whole) + len(frac)
    if digits % 2:
        raise ValueError(f"format {text!r} has {digits} digits; BCD packs two a byte")
    return ValueFormat(text, len(frac), digits // 2, signed)


def bcd_to_int(wire: bytes) -> int:
    """Packed BCD, low byte first, as an integer; raises ValueError on a nibble above 9."""
    value = 0
    for byte in reversed(wire):
        high, low = byte >> 4, byte & 0x0F
        if high > 9 or low > 9:
            raise ValueError(f"byte {byte:02X}H is not BCD")
        value = value * 100 + high * 10 + low
    return value


def int_to_bcd(value: int, length: int) -> bytes:
    if not 0 <= value < 10 ** (2 * length):
        raise ValueError(f"{value} does not fit {length} BCD bytes")
    out = bytearray()
    for _ in range(length):
        value, pair = divmod(value, 100)
        out.append((pair // 10) << 4 | pair % 10)
    return bytes(out)


def decode_value(wire: bytes, fmt: ValueFormat) -> float:
    if len(wire) != fmt.length:
        raise ValueError(f"{fmt.text} takes {fmt.length} bytes, got {len(wire)}")
    negative = False
    if fmt.signed and wire[-1] & SIGN:
        negative = True
        wire = wire[:-1] + bytes([wire[-1] & ~SIGN & 0xFF])
    raw = bcd_to_int(wire)
    value = float(Decimal(raw).scaleb(-fmt.decimals))
    return -value if negative else value


def encode_value(value: float, fmt: ValueFormat) -> bytes:
    """The bytes a meter holds for ``value``, rounded to the format's decimals."""
    if value < 0 and not fmt.signed:
        raise ValueError(f"{value} is negative and {fmt.text} has no sign")
    raw = int(Decimal(str(abs(value))).scaleb(fmt.decimals).to_integral_value())
    if raw > fmt.max_raw:
        raise ValueError(f"{value} does not fit {fmt.text}{' (signed)' if fmt.signed else ''}")
    wire = int_to_bcd(raw, fmt.length)
    if value < 0 and raw:
        wire = wire[:-1] + bytes([wire[-1] | SIGN])
    return wire


def decode_values(wire: bytes, fmt: ValueFormat) -> list[float]:
    """A data block (数据块): values of one format back to back, as many as the bytes hold (a
    frozen energy block holds the total then one value per tariff the meter has)."""
    if not wire or len(wire) % fmt.length:
        raise ValueError(f"{len(wire)} bytes are not a whole number of {fmt.text} values")
    return [decode_value(wire[i : i + fmt.length], fmt) for i in range(0, len(wire), fmt.length)]


def decode_time(wire: bytes, tz: tzinfo) -> datetime:
    """A ``YYMMDDhhmm`` value (five BCD bytes, minute first on the wire) read on a meter whose
    clock runs in ``tz``; years are 2000-2099."""
    if len(wire) != 5:
        raise ValueError(f"YYMMDDhhmm takes 5 bytes, got {len(wire)}")
    minute, hour, day, month, year = (bcd_to_int(wire[i : i + 1]) for i in range(5))
    return datetime(2000 + year, month, day, hour, minute, tzinfo=tz)


def encode_time(when: datetime) -> bytes:
    if not 2000 <= when.year <= 2099:
        raise ValueError(f"YYMMDDhhmm holds the years 2000-2099, not {when.year}")
    fields = (when.minute, when.hour, when.day, when.month, when.year - 2000)
    return b"".join(int_to_bcd(f, 1) for f in fields)
