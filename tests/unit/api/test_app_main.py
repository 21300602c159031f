"""``energymon api`` hands the trusted proxies to uvicorn, which decides the client address."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import structlog
import uvicorn

from services.api.app import main


@pytest.mark.parametrize("workers", ["1", "2"])
def test_forwarded_for_is_trusted_only_from_the_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **options: runs.append(options))
    monkeypatch.setattr("services.api.app.create_app", lambda _config: None)  # no database
    monkeypatch.setenv("ENERGYMON_ENV", "development")
    monkeypatch.setenv("ENERGYMON_API_WORKERS", workers)
    monkeypatch.setenv("ENERGYMON_API_TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8")
    monkeypatch.setenv("ENERGYMON_API_PORT", "0")  # any port: nothing may already hold it
    # main() sets it for its workers: recorded here as absent, so that it is removed afterwards
    # (it leaked into later tests, whose ingest processes then failed on a deleted directory)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    configured, saved = structlog.is_configured(), structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert main() == 0
    finally:  # main() configures logging for the whole process
        root.handlers, root.level = handlers, level
        if configured:
            structlog.configure(**saved)
        else:
            structlog.reset_defaults()
    assert [options["forwarded_allow_ips"] for options in runs] == ["10.0.0.0/8,fd00::/8"]
