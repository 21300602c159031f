"""The one exception hierarchy of energymon.

Every error a caller may need to handle derives from :class:`EnergymonError` and carries the data
the caller needs as attributes; wrap library errors with ``raise ... from err``.
"""

from __future__ import annotations


class EnergymonError(Exception):
    """Base of every error raised by energymon code."""


class ConfigError(EnergymonError):
    """A setting is missing, malformed or dangerous for the environment."""


class RegistryError(EnergymonError):
    """A registry file or object is invalid.

    ``location`` names the offending place, e.g. ``enterprises[0].sites[1].meters[2].carrier``.
    """

    def __init__(self, message: str, *, location: str = "", line: int | None = None) -> None:
        self.location = location
        self.line = line
        where = location
        if line is not None:
            where = f"line {line}: {location}" if location else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


class UnitError(EnergymonError):
    """A unit is unknown or cannot be converted to the quantity's unit."""

    def __init__(self, unit: str, target: str) -> None:
        self.unit = unit
        self.target = target
        super().__init__(f"unit {unit!r} cannot be converted to {target!r}")


class StorageUnavailableError(EnergymonError):
    """The database cannot be reached; the caller should retry later."""


class StorageRejectedError(EnergymonError):
    """The database is up but refused this data (a constraint or type error): retrying the same
    data will fail again, so the caller must isolate it."""


class PortInUseError(EnergymonError):
    """Another process already listens on the address a service was told to serve on.

    ``controls`` names the flag or setting that chooses the port, e.g. ``--port or
    ENERGYMON_API_PORT``.
    """

    def __init__(self, host: str, port: int, *, controls: str = "") -> None:
        self.host = host
        self.port = port
        self.controls = controls
        super().__init__(f"cannot listen on {host}:{port}: the address is already in use")

    def hint(self, controls: str = "") -> str:
        """What to try; ``controls`` stands in when the raiser could not name the setting."""
        flag = self.controls or controls or "the command's port setting"
        return f"choose another port with {flag}, or stop the process that holds it"


class BrokerUnavailableError(EnergymonError, TimeoutError):
    """The MQTT broker at ``host``:``port`` did not accept a connection in time (a TimeoutError
    too, as callers that wait on a connection catch)."""

    def __init__(self, host: str, port: int, *, waited_s: float) -> None:
        self.host = host
        self.port = port
        super().__init__(f"no MQTT broker answered at {host}:{port} within {waited_s:g} s")


class QuotaFileError(EnergymonError):
    """A quota file (YAML or CSV) is invalid; ``problems`` holds one line per problem, each with
    its line of the file."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{path}: {problems[0]}{more}" if problems else f"{path}: invalid")
