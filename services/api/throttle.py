"""Login throttling: failed logins per username and per client address in a sliding window.

An admitted attempt counts as a failure from the moment it is admitted until it succeeds (so
concurrent guesses cannot all pass the check before the first failure is recorded). A key with
``limit`` attempts in the last ``window_s`` seconds is refused, without its password being
checked, until the oldest of them leaves the window; refusals count nothing, so hammering neither
extends the wait nor uses up the address's allowance. At most ``limit`` passwords are therefore
tried per key in any ``window_s``-long interval. Usernames are counted whether or not they exist,
so the throttle says nothing about which do.

Memory is bounded: keys are 16-byte BLAKE2b digests (a username can be a megabyte of form data)
and each table keeps at most ``capacity`` keys, dropping expired ones first and, when every key
is live, the least recently tried. Making the table forget a live username takes ``capacity``
failed logins under other names within the window (each one an argon2 verification, and at most
``per_address`` per address) and buys ``limit`` more guesses: flooding does not pay.

The core is pure: every call takes ``now`` (seconds on a monotonic clock).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from services.core.settings import ApiSettings

Limit = Literal["username", "address"]


def address_key(host: str | None) -> str:
    """The client address failures count against: an IPv4 address, or the /64 of an IPv6 one
    (one subscriber's allocation: rotating addresses within it does not help)."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:128]  # not an IP (a Unix socket): whatever the server reported
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SlidingWindow:
    """Attempt times per key within the last ``window_s`` seconds, for at most ``capacity`` keys.
    Not thread-safe: ``LoginThrottle`` holds a lock around it."""

    def __init__(self, limit: int, window_s: float, capacity: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self.capacity = capacity
        # least recently tried first; each ascending and at most ``limit`` long (an array of
        # doubles: ~290 bytes a key at 5 attempts, ~410 at 20, where a list of floats takes twice)
        self._times: OrderedDict[bytes, array[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def wait(self, key: bytes, now: float) -> float:
        """Seconds until ``key`` may try again: 0 while it has fewer than ``limit`` attempts in
        the window, else until the oldest of its last ``limit`` leaves the window."""
        times = self._times.get(key)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[-self.limit] + self.window_s - now)

    def add(self, key: bytes, now: float) -> None:
        live = [t for t in self._times.pop(key, ()) if t > now - self.window_s]
        # sorted: threads may pass their clock readings slightly out of order
        self._times[key] = array("d", sorted([*live, now])[-self.limit :])
        self._forget(now)

    def discard(self, key: bytes, at: float) -> None:
        """Withdraw the attempt made at ``at``."""
        times = self._times.get(key)
        if times is not None and at in times:
            times.remove(at)
            if not times:
                del self._times[key]

    def clear(self, key: bytes) -> None:
        self._times.pop(key, None)

    def _forget(self, now: float) -> None:
        horizon = now - self.window_s
        while self._times:
            key, times = next(iter(self._times.items()))
            if len(self._times) <= self.capacity and times[-1] > horizon:
                return
            del self._times[key]


@dataclass(frozen=True, slots=True)
class Attempt:
    """An admitted login attempt: a failure until ``LoginThrottle.succeeded`` or ``abandoned``."""

    username: bytes
    address: bytes
    at: float


@dataclass(frozen=True, slots=True)
class Throttled:
    """A refusal: the limit that refuses (the one that lasts longest) and for how long."""

    limit: Limit
    retry_after_s: float


class LoginThrottle:
    """Failed logins per username and per client address (see the module's docstring)."""

    def __init__(
        self, *, per_username: int, per_address: int, window_s: float, capacity: int
    ) -> None:
        self._tables: dict[Limit, SlidingWindow] = {
            "username": SlidingWindow(per_username, window_s, capacity),
            "address": SlidingWindow(per_address, window_s, capacity),
        }
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, api: ApiSettings) -> LoginThrottle:
        return cls(
            per_username=api.login_failures_per_username,
            per_address=api.login_failures_per_address,
            window_s=api.login_window_s,
            capacity=api.login_tracked_keys,
        )

    def begin(self, username: str, host: str | None, now: float) -> Attempt | Throttled:
        """Admit an attempt, counting it against both keys, or refuse it, counting nothing."""
        attempt = Attempt(_digest(username), _digest(address_key(host)), now)
        with self._lock:
            refusals = self._refusals(attempt, now)
            if refusals:
                return max(refusals, key=lambda r: r.retry_after_s)
            for limit, table in self._tables.items():
                table.add(self._key(attempt, limit), now)
        return attempt

    def failed(self, attempt: Attempt, now: float) -> list[Throttled]:
        """The attempt stays counted; the answer is the limits its key has now reached."""
        with self._lock:
            return self._refusals(attempt, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The username's failures are forgiven; the address keeps its other attempts (a valid
        account of one's own must not reset an address that is guessing others' passwords)."""
        with self._lock:
            self._tables["username"].clear(attempt.username)
            self._tables["address"].discard(attempt.address, attempt.at)

    def abandoned(self, attempt: Attempt) -> None:
        """Neither verified nor refuted (the database failed): the attempt is withdrawn."""
        with self._lock:
            for limit, table in self._tables.items():
                table.discard(self._key(attempt, limit), attempt.at)

    def tracked(self) -> dict[Limit, int]:
        """Keys held per table."""
        with self._lock:
            return {limit: len(table) for limit, table in self._tables.items()}

    def _refusals(self, attempt: Attempt, now: float) -> list[Throttled]:
        refusals = []
        for limit, table in self._tables.items():
            wait = table.wait(self._key(attempt, limit), now)
            if wait > 0:
                refusals.append(Throttled(limit, wait))
        return refusals

    @staticmethod
    def _key(attempt: Attempt, limit: Limit) -> bytes:
        return attempt.username if limit == "username" else attempt.address
