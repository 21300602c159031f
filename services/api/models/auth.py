"""Tokens and the caller."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.api.models.common import (
    ENT,
)


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
                    "eyJzdWIiOiIxIiwibmFtZSI6Indhbmcub2ZmaWNlciIsInJvbGUiOiJvZmZpY2VyIn0."
                    "c2lnbmF0dXJlLW9taXR0ZWQ",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class MeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "castings", "role": "enterprise", "enterprise": ENT}]
        }
    )

    username: str
    role: str
    enterprise: str | None = None
    gateway: str | None = None
