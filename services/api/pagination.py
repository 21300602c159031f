"""Opaque cursors: base64url of the last row's sort key."""

from __future__ import annotations

import base64
import json

from services.api.problems import Problem


def encode(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> object | None:
    if cursor is None:
        return None
    try:
        key: object = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return key
    except (ValueError, json.JSONDecodeError) as err:
        raise Problem(400, "invalid cursor", kind="invalid-cursor") from err
