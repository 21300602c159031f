"""The env file a process writes for ``source``: a shell gets back exactly the values written, the
file is private, and only real settings go in."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from services.core.env_file import render_env_file, write_env_file

URLS = {
    "ENERGYMON_DATABASE_URL": "postgresql://demo:p'a$s w@127.0.0.1:54329/energymon",
    "ENERGYMON_MQTT_URL": "mqtt://127.0.0.1:18830",
}


def test_sourcing_the_file_gives_back_each_value_exactly(tmp_path: Path) -> None:
    env = tmp_path / "demo" / "env"
    write_env_file(env, URLS)
    script = f'. "{env}"; printf "%s\\n" "$ENERGYMON_DATABASE_URL" "$ENERGYMON_MQTT_URL"'
    out = subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, check=True, env={}
    ).stdout
    assert out.splitlines() == [URLS["ENERGYMON_DATABASE_URL"], URLS["ENERGYMON_MQTT_URL"]]


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("old")
    env.chmod(0o644)
    write_env_file(env, URLS)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_a_name_that_is_not_a_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="ENERGYMON_DATABSE_URL"):
        render_env_file({"ENERGYMON_DATABSE_URL": "postgresql://x"})
