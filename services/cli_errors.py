"""The ``energymon`` command's error boundary: an expected failure becomes one or two lines.

What failed goes on the first line, the flag or setting that controls it and what to try on the
second. Anything not recognised here is a bug and keeps its traceback, as does every failure under
``energymon --debug`` (or ``ENERGYMON_DEBUG=1``).
"""

from __future__ import annotations

import errno
import traceback
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.core.errors import (
    BrokerUnavailableError,
    ConfigError,
    EnergymonError,
    PortInUseError,
    QuotaFileError,
    StorageUnavailableError,
)

DATABASE_HINT = (
    "ENERGYMON_DATABASE_URL names the database: point it at a running PostgreSQL "
    "(and run `energymon db upgrade` once)"
)

BROKER_HINT = "ENERGYMON_MQTT_URL names the broker: point it at a running one (or start mosquitto)"

# Which setting or flag holds the port each command listens on (its /metrics for the services).
LISTEN_PORT = {
    "api": "--port or ENERGYMON_API_PORT",
    "ingest mqtt": "ENERGYMON_INGEST_METRICS_PORT",
    "ingest modbus": "ENERGYMON_MODBUS_METRICS_PORT",
    "alerts run": "ENERGYMON_ALERTS_METRICS_PORT",
    "accounting run": "ENERGYMON_ACCOUNTING_METRICS_PORT",
    "simulate meters": "--port",
}


@dataclass(frozen=True)
class Explanation:
    """An expected failure in words: ``what`` failed, and a ``hint`` naming what controls it."""

    what: str
    hint: str = ""
    exit_code: int = 1

    def render(self) -> str:
        text = f"energymon: error: {self.what}"
        return f"{text}\n  {self.hint}" if self.hint else text


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _database_url() -> str:
    from pydantic import ValidationError

    from services.core.settings import DatabaseSettings

    try:
        return masked_url(DatabaseSettings().url)
    except ValidationError:
        return "(invalid)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _database(err: BaseException) -> Explanation | None:
    import psycopg
    from sqlalchemy import exc

    original = err.orig if isinstance(err, exc.DBAPIError) else err
    if isinstance(original, psycopg.errors.UndefinedTable):
        return Explanation(
            f"the database has no energymon schema ({_first_line(original)})",
            f"run `energymon db upgrade` (ENERGYMON_DATABASE_URL is {_database_url()})",
        )
    if isinstance(original, psycopg.OperationalError):
        # libpq: 'connection to server at "h", port p failed: <reason>'; the reason is what matters
        reason = _first_line(original).rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
        return Explanation(f"cannot use the database at {_database_url()}: {reason}", DATABASE_HINT)
    return None


def _broker_url() -> str:
    from pydantic import ValidationError

    from services.core.settings import MqttSettings

    try:
        return masked_url(MqttSettings().url)
    except ValidationError:
        return "(invalid)"


def _raised_in(err: BaseException, package: str) -> bool:
    return any(
        f"/{package}/" in frame.filename for frame in traceback.extract_tb(err.__traceback__)
    )


def _os_error(err: OSError, command: str) -> Explanation | None:
    if err.errno == errno.EADDRINUSE:
        hint = PortInUseError("", 0).hint(LISTEN_PORT.get(command, ""))
        return Explanation(f"cannot listen: the address is already in use ({err})", hint)
    if _raised_in(err, "paho"):
        return Explanation(
            f"cannot reach the MQTT broker at {_broker_url()}: {err.strerror or err}", BROKER_HINT
        )
    if err.filename is not None:
        return Explanation(f"cannot open {err.filename}: {err.strerror}")
    return None


def _settings(err: BaseException) -> Explanation | None:
    """A malformed ``ENERGYMON_*`` value: name the variable, not the model field."""
    from pydantic import ValidationError

    from services.core.config_doc import SETTINGS

    if not isinstance(err, ValidationError):
        return None
    model = next((cls for cls in SETTINGS if cls.__name__ == err.title), None)
    if model is None:
        return None
    first = err.errors()[0]
    prefix = str(model.model_config.get("env_prefix", ""))
    field = ".".join(str(p) for p in first["loc"])
    variable = f"{prefix}{field.upper()}"
    return Explanation(
        f"{variable}={first.get('input')!r}: {first['msg']}",
        "fix or unset it; energymon config show lists every setting with its default",
    )


def _yaml(err: BaseException) -> Explanation | None:
    import yaml

    from services.core.yaml_errors import yaml_line, yaml_problem

    if not isinstance(err, yaml.YAMLError):
        return None
    line = yaml_line(err)
    return Explanation(f"{f'line {line}: ' if line else ''}not valid YAML: {yaml_problem(err)}")


def debug_requested() -> bool:
    """``ENERGYMON_DEBUG``: a malformed environment must not hide the error being reported."""
    from pydantic import ValidationError

    from services.core.settings import CommonSettings

    try:
        return CommonSettings().debug
    except ValidationError:
        return False


def _energymon(err: EnergymonError, command: str) -> Explanation:
    if isinstance(err, PortInUseError):
        return Explanation(str(err), err.hint(LISTEN_PORT.get(command, "")))
    if isinstance(err, BrokerUnavailableError):
        return Explanation(f"{err} ({_broker_url()})", BROKER_HINT)
    if isinstance(err, StorageUnavailableError):
        return Explanation(f"{err} ({_database_url()})", DATABASE_HINT)
    if isinstance(err, ConfigError):
        return Explanation(str(err), "energymon config show lists every setting", exit_code=2)
    if isinstance(err, QuotaFileError):
        hint = f"energymon quotas check {err.path} lists every problem"
        return Explanation(str(err), f"{hint} (ENERGYMON_QUOTAS_FILE names the file)", exit_code=2)
    return Explanation(str(err), exit_code=2)


def explain(err: BaseException, *, command: str) -> Explanation | None:
    """The explanation of an expected failure of ``command`` (e.g. ``ingest mqtt``), or None
    for anything else."""
    import psycopg
    from sqlalchemy import exc

    if isinstance(err, EnergymonError):
        return _energymon(err, command)
    if isinstance(err, exc.DBAPIError | psycopg.Error):
        return _database(err)
    if isinstance(err, OSError):
        return _os_error(err, command)
    return _settings(err) or _yaml(err)
