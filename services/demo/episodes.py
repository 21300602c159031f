"""Playing the district's scripted episodes (simulators/district/episodes.py) from the progress
loop: each acts once its delay has passed and the alert it is meant to resolve is live (or,
failing that, after a grace time), so that the alert is seen opening before it resolves."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from services.core.alerting.store import alert_is_live
from services.core.settings import AlertsSettings, MqttSettings
from services.demo.launch import Running
from services.demo.output import kwh, local, say
from services.demo.production import Statistics, report_verdicts
from services.demo.provisioning import DcHistory, apply_district_file
from simulators.district.episodes import AlertOf, BudgetRevision, Commissioning, LateFigures
from simulators.district.layout import District
from simulators.gateways.fleet import Fleet, ReadingStream
from simulators.gateways.publisher import FleetPublisher

EPISODE_GRACE_S = 120.0  # an episode waits this much longer for the alert it is meant to resolve


@dataclass
class Episodes:
    """The two episodes, their delay, and what they need to act: the database, the broker, the
    district file, and what an earlier run left of the commissioned data centre."""

    commissioning: Commissioning
    revision: BudgetRevision
    late: LateFigures
    statistics: Statistics
    district: District
    path: Path  # the district file
    history: DcHistory
    delay_s: float  # the first episode acts this long after "ready", the second at twice
    engine: Engine
    mqtt: MqttSettings
    started: Running
    stop: threading.Event

    def __post_init__(self) -> None:
        self.began = time.monotonic()
        self.commissioned = False
        self.revised = False
        self.submitted = False

    def announce(self, alerts: AlertsSettings) -> None:
        hold = (
            "ENERGYMON_ALERTS_HOLD_S"
            if "hold_s" in AlertsSettings().model_fields_set
            else "the demo's; set ENERGYMON_ALERTS_HOLD_S to change it, default 600 s"
        )
        say(
            f"alerts: evaluated every {alerts.interval_s:g} s; an alert resolves once its "
            f"condition has been clear for {alerts.hold_s:g} s ({hold})"
        )
        dc = self.commissioning
        say(
            f"episode 1: {dc.subject}, a new large data centre (PUE about {dc.pue:g}, limit "
            f"{dc.pue_limit:g}), is registered; its gateway {dc.gateway} starts publishing "
            f"{dc.delays * self.delay_s:g} s from now"
        )
        if self.history.first is not None:
            say(
                f"  dc-new: commissioned on an earlier run (first reading "
                f"{local(self.history.first)}): its coverage counts from then, so the time the "
                "demo was stopped counts as missing data and its PUE may stay insufficient"
            )
        rev = self.revision
        say(
            f"episode 2: the electricity budget of {rev.enterprise} ({kwh(rev.before_kwh)} kWh, "
            f"already spent) is revised {rev.delays * self.delay_s:g} s from now"
        )
        late = self.late
        say(
            f"episode 3: {late.enterprise}, late with its {late.month:%Y-%m} figures, submits "
            f"them {late.delays * self.delay_s:g} s from now"
        )

    def tick(self, conn: Connection) -> None:
        elapsed = time.monotonic() - self.began
        dc, rev = self.commissioning, self.revision
        if not self.commissioned and self._due(
            conn, elapsed, dc.delays, dc.resolves, already=self.history.first is not None
        ):
            self.commissioned = True
            self._commission()
        if not self.revised and self._due(conn, elapsed, rev.delays, rev.resolves):
            self.revised = True
            self._revise()
        late = self.late
        if not self.submitted and self._due(conn, elapsed, late.delays, late.resolves):
            self.submitted = True
            self._submit_late()

    def _due(
        self,
        conn: Connection,
        elapsed: float,
        delays: int,
        awaited: AlertOf,
        *,
        already: bool = False,
    ) -> bool:
        """Its delay has passed, and the alert it resolves is live (or ``already`` says it will
        not open this run, or the grace time is over)."""
        at = delays * self.delay_s
        if elapsed < at:
            return False
        live = alert_is_live(
            conn, rule=awaited.rule, subject=awaited.subject, enterprise=awaited.enterprise
        )
        return live or already or elapsed >= at + EPISODE_GRACE_S

    def _commission(self) -> None:
        dc = self.commissioning
        start = dc.first_reading(datetime.now(UTC), published_until=self.history.last)
        say(
            f"dc-new: gateway starts publishing ({dc.subject} via {dc.gateway}; 15-minute "
            f"interval meters: first reading {local(start)}, its PUE computable from the next, "
            f"{local(start + dc.interval)})"
        )
        stream = dc.stream(start, counters=self.history.counters)
        self.started.thread(
            _publish_as_due, dc.fleet, self.mqtt, stream, self.stop, name="demo-dc-new"
        )

    def _revise(self) -> None:
        rev = self.revision
        self.district = rev.apply_to(self.district)
        report = apply_district_file(self.engine, self.district, self.path)
        changed = [
            f"{t} {o} {n}" for (t, o), n in sorted(report.counts.items()) if o != "unchanged"
        ]
        say(
            f"budget revised: {rev.enterprise} {rev.year} electricity {kwh(rev.before_kwh)} -> "
            f"{kwh(rev.after_kwh)} kWh (as an officer would after an approved revision: "
            f"{self.path.name} re-applied, {', '.join(changed) or 'unchanged'})"
        )

    def _submit_late(self) -> None:
        late = self.late
        stored = self.statistics.submit(self.engine, [late.enterprise])
        say(
            f"production: {late.enterprise} submitted its {late.month:%Y-%m} figures late "
            f"({stored} figures new or revised, by its clerk)"
        )
        report_verdicts(self.engine, self.statistics, codes=[late.enterprise])


def _publish_as_due(
    fleet: Fleet, mqtt: MqttSettings, stream: ReadingStream, stop: threading.Event
) -> None:
    """The commissioned data centre's gateway: connects when commissioned and publishes each
    reading as wall-clock time reaches it (never a backlog), until the demo stops."""
    publisher = FleetPublisher(fleet, mqtt)
    try:
        publisher.connect()
        while not stop.is_set():
            lead = (stream.next_ts - datetime.now(UTC)).total_seconds()
            if stop.wait(max(0.0, lead)):
                break
            publisher.publish(stream.take(1))
    except (OSError, RuntimeError) as exc:
        say(f"dc-new: the gateway stopped: {exc}")
    finally:
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            publisher.close()
