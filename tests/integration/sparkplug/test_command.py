"""`energymon ingest sparkplug` as a process: ready, metrics served, a clean stop."""

from __future__ import annotations

import uuid

from tests.support.ingest import start_service
from tests.support.services import free_port


def test_the_sparkplug_host_command_starts_serves_metrics_and_stops_cleanly(
    small_district, mqtt_settings, tmp_path
):
    port = free_port()
    env = {
        "ENERGYMON_DATABASE_URL": small_district.url,
        "ENERGYMON_DATABASE_TIMESCALE": "off",
        "ENERGYMON_MQTT_URL": mqtt_settings.url,
        "ENERGYMON_SPARKPLUG_HOST_ID": f"host-{uuid.uuid4().hex[:8]}",
        "ENERGYMON_SPARKPLUG_SPOOL_DIR": str(tmp_path / "spool"),
        "ENERGYMON_SPARKPLUG_METRICS_PORT": str(port),
    }
    proc = start_service(["ingest", "sparkplug"], env, tmp_path, "sparkplug", port)
    try:
        proc.wait_ready(30)
        assert proc.metric("energymon_sparkplug_mqtt_connected") == 1
        assert "energymon_sparkplug_rebirth_requests_total" in proc.metrics()
    finally:
        code = proc.stop()
    assert code == 0
    assert "sparkplug host stopped" in proc.log()
