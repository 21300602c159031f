"""Unified social credit codes (统一社会信用代码, GB 32100-2015): the check character."""

from __future__ import annotations

from typing import Final

_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th character: ``31 - (sum(value_i * weight_i) mod 31)``, where 31 maps to '0'."""
    if len(first17) != 17 or any(c not in _CHARSET for c in first17):
        raise ValueError("expected 17 characters of 0-9 and A-Z without I, O, S, V, Z")
    total = sum(_CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    return len(code) == 18 and code[17] in _CHARSET and _safe_check(code[:17]) == code[17]


def _safe_check(first17: str) -> str | None:
    try:
        return uscc_check_char(first17)
    except ValueError:
        return None
