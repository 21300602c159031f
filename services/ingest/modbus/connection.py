"""One object owns each Modbus connection (a TCP endpoint or a serial line).

Requests on a line are serialised by a lock — an RS-485 bus carries one request at a time, and most
Modbus TCP gateways to RTU buses behave the same — with the inter-frame gap the bus needs. Library
failures become one typed :class:`PollError`; the first failure of a line is logged loudly, repeats
quietly, recovery once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from services.core.errors import EnergymonError
from services.core.logging import get_logger

log = get_logger(__name__)


class Transport(StrEnum):
    TCP = "tcp"
    RTU_OVER_TCP = "rtu-over-tcp"
    SERIAL = "serial"


class FailureReason(StrEnum):
    """A closed set: it is a metric label."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    EXCEPTION_CODE = "exception_code"
    GARBAGE = "garbage"


class PollError(EnergymonError):
    """A failed request on a line. ``permanent``: the device refused what a retry would ask
    again (Modbus exception codes 1, 2 and 3 unless the line says otherwise)."""

    def __init__(
        self,
        reason: FailureReason,
        detail: str,
        exception_code: int | None = None,
        *,
        permanent: bool | None = None,
    ) -> None:
        self.reason = reason
        self.exception_code = exception_code
        if permanent is None:
            permanent = reason == FailureReason.EXCEPTION_CODE and exception_code in {1, 2, 3}
        self.permanent = permanent
        super().__init__(f"{reason}: {detail}")


class LineHealth:
    """Logs a line's first failure loudly, its repeats not at all, and its recovery once. A
    device's refusal (an exception code) says the line works and is not a line failure."""

    def __init__(self, protocol: str, key: str, *, quiet: bool = False) -> None:
        self.protocol = protocol
        self.key = key
        self.quiet = quiet  # a one-off command reports the failure itself
        self.failing = False

    def failed(self, err: PollError) -> None:
        if err.reason == FailureReason.EXCEPTION_CODE:
            return
        if not self.failing and not self.quiet:
            log.warning(f"{self.protocol} line failing", line=self.key, error=str(err))
        self.failing = True

    def ok(self) -> None:
        if self.failing and not self.quiet:
            log.info(f"{self.protocol} line recovered", line=self.key)
        self.failing = False


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Where a line is and how to talk on it. ``key`` identifies the line (shared by devices)."""

    transport: Transport
    host: str = "127.0.0.1"
    port: int = 502
    serial_port: str = ""
    baudrate: int = 9600
    parity: str = "N"
    timeout_s: float = 1.0

    @property
    def key(self) -> str:
        if self.transport == Transport.SERIAL:
            return f"serial:{self.serial_port}"
        return f"{self.transport}:{self.host}:{self.port}"

    def open(self) -> ModbusLine:
        return ModbusLine(self)

    @property
    def inter_frame_s(self) -> float:
        """The RTU silent interval: 3.5 characters of 11 bits, at least 1.75 ms above 19200 baud."""
        if self.transport == Transport.TCP:
            return 0.0
        return max(3.5 * 11 / self.baudrate, 0.00175)


class ModbusLine:
    def __init__(self, settings: LineSettings) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._client: Any = None
        self._health = LineHealth("modbus", settings.key)
        self._last_frame = 0.0

    def _make_client(self) -> Any:
        s = self.settings
        if s.transport == Transport.SERIAL:
            return AsyncModbusSerialClient(
                s.serial_port,
                framer=FramerType.RTU,
                baudrate=s.baudrate,
                parity=s.parity,
                timeout=s.timeout_s,
                retries=0,
            )
        framer = FramerType.SOCKET if s.transport == Transport.TCP else FramerType.RTU
        return AsyncModbusTcpClient(
            s.host, port=s.port, framer=framer, timeout=s.timeout_s, retries=0, reconnect_delay=0
        )

    async def request(self, block: Any, unit: Any) -> list[int]:
        """The poller's entry point: ``block`` is a ReadBlock, ``unit`` the unit id."""
        return await self.read(block.function, block.start, block.count, int(unit))

    async def read(self, function: str, address: int, count: int, unit: int) -> list[int]:
        """Read ``count`` registers; raises PollError. ``function``: holding | input."""
        async with self._lock:
            try:
                registers = await self._read_locked(function, address, count, unit)
            except PollError as err:
                self._health.failed(err)
                raise
            self._health.ok()
            return registers

    async def _read_locked(self, function: str, address: int, count: int, unit: int) -> list[int]:
        gap = self.settings.inter_frame_s - (time.monotonic() - self._last_frame)
        if gap > 0:
            await asyncio.sleep(gap)
        try:
            if self._client is None or not self._client.connected:
                if self._client is None:
                    self._client = self._make_client()
                if not await asyncio.wait_for(self._client.connect(), self.settings.timeout_s * 2):
                    raise PollError(
                        FailureReason.CONNECTION, f"cannot connect to {self.settings.key}"
                    )
            reader = (
                self._client.read_input_registers
                if function == "input"
                else self._client.read_holding_registers
            )
            # asyncio.timeout, unlike wait_for on 3.11, does not wrap the read in another task
            async with asyncio.timeout(self.settings.timeout_s * 1.5):
                response = await reader(address, count=count, device_id=unit)
        except TimeoutError as err:
            self._drop()
            raise PollError(
                FailureReason.TIMEOUT, f"no answer within {self.settings.timeout_s}s"
            ) from err
        except (ConnectionException, OSError) as err:
            self._drop()
            raise PollError(FailureReason.CONNECTION, str(err)) from err
        except ModbusIOException as err:
            self._drop()
            # pymodbus says "No response received ..." when its own timeout expires (also when
            # the only answer had a bad CRC: the framer drops it)
            text = str(err).lower()
            timed_out = "timeout" in text or "no response" in text
            reason = FailureReason.TIMEOUT if timed_out else FailureReason.GARBAGE
            raise PollError(reason, str(err)) from err
        except ModbusException as err:
            self._drop()
            raise PollError(FailureReason.GARBAGE, str(err)) from err
        finally:
            self._last_frame = time.monotonic()
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise PollError(
                FailureReason.EXCEPTION_CODE,
                f"device {unit} answered exception code {code}",
                exception_code=code,
            )
        registers = list(response.registers)
        if len(registers) < count:
            raise PollError(FailureReason.GARBAGE, f"{len(registers)} registers for {count} asked")
        return registers[:count]

    def _drop(self) -> None:
        # A timed-out or garbled exchange may leave bytes in flight: start the next one clean.
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        self._drop()
