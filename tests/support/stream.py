"""Numbered readings messages for the fault tests: message ``seq`` carries one reading per meter,
all at ``start + seq`` seconds with the value ``seq``, so what is stored tells which messages
arrived and how often."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson


def numbered_messages(n: int, meters: list[tuple[str, str]], start: datetime) -> list[bytes]:
    """Messages ``seq`` 1..n, each with one reading per (meter, point) of ``meters``."""
    return [
        orjson.dumps(
            {
                "seq": seq,
                "readings": [
                    {
                        "meter": meter,
                        "point": point,
                        "ts": (start + timedelta(seconds=seq)).isoformat(),
                        "value": float(seq),
                    }
                    for meter, point in meters
                ],
            }
        )
        for seq in range(1, n + 1)
    ]
