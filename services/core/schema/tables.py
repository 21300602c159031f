"""The database schema as SQLAlchemy Core tables.

Registry rows are never deleted (readings reference them): a registry object that disappears from
the provisioning file is deactivated. Readings are keyed by ``(point_id, ts)``, which makes every
re-delivery of a reading a no-op; the key includes the time column so the table can become a
TimescaleDB hypertable.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _now() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


enterprises = Table(
    "enterprises",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", String(18), nullable=False, unique=True, comment="unified social credit code"),
    Column("name", Text, nullable=False),
    Column("industry", String(8), nullable=False, comment="GB/T 4754 code"),
    Column("town", Text, nullable=False),
    Column("grid_region", String(32), nullable=False, server_default="national"),
    Column(
        "heating_values",
        JSONB(none_as_null=True),
        nullable=True,
        comment="measured low calorific values of its fuels (GB/T 2589-2020), as the registry "
        "lists them",
    ),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("dc_class", String(32), nullable=True),
    Column("pue_limit", Numeric(6, 3), nullable=True, comment="explicit limit; else from dc_class"),
    Column("pue_category", String(8), nullable=True, comment="The Green Grid PUE1/PUE2/PUE3"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
    UniqueConstraint("enterprise_id", "code"),
    CheckConstraint("kind IN ('industrial', 'data_centre', 'public_building')", name="kind"),
    CheckConstraint(
        "dc_class IS NULL OR dc_class IN ('new_large', 'new_super_large', 'existing')",
        name="dc_class",
    ),
)

gateways = Table(
    "gateways",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("status", String(16), nullable=True, comment="last MQTT status: online / offline"),
    Column("status_at", DateTime(timezone=True), nullable=True),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("last_seq", BigInteger, nullable=True, comment="highest seq of the current epoch"),
    Column(
        "seq_epoch",
        Integer,
        nullable=False,
        server_default="0",
        comment="+1 each time the gateway restarts its message counter",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
    UniqueConstraint("enterprise_id", "code"),
)

gateway_seq_gaps = Table(
    "gateway_seq_gaps",
    metadata,
    Column("gateway_id", Integer, ForeignKey("gateways.id"), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resend_requests", Integer, nullable=False, server_default="0"),
    Column("last_request_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("gateway_id", "epoch", "first_seq"),
    CheckConstraint("first_seq <= last_seq", name="range"),
    comment="gateway messages (by seq) that never arrived; a late arrival fills its number",
)

sparkplug_nodes = Table(
    "sparkplug_nodes",
    metadata,
    Column("group_id", Text, nullable=False),
    Column("node_id", Text, nullable=False),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("host_id", Text, nullable=False, comment="the Sparkplug host that saw it"),
    Column("state", String(16), nullable=False, comment="online / offline / unborn"),
    Column("bd_seq", Integer, nullable=True, comment="bdSeq of the current or last session"),
    Column("births", Integer, nullable=False, comment="NBIRTHs seen since the host started"),
    Column("devices", JSONB, nullable=False, comment="device ids online"),
    Column("rebirth_requests", JSONB, nullable=False, comment="cause -> requests since start"),
    _now(),
    PrimaryKeyConstraint("group_id", "node_id"),
    comment="Sparkplug edge nodes bound in the registry, as the host last saw them",
)

meters = Table(
    "meters",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("gateway_id", Integer, ForeignKey("gateways.id"), nullable=True),
    Column("code", String(64), nullable=False),
    Column("serial", Text, nullable=True),
    Column("carrier", String(32), nullable=False),
    Column("protocol", String(16), nullable=False),
    Column("multiplier", Numeric(18, 6), nullable=False, server_default="1"),
    Column("role", String(32), nullable=False, server_default="boundary"),
    Column(
        "sub_of",
        Integer,
        ForeignKey("meters.id"),
        nullable=True,
        comment="the meter this one is a sub-meter of (meter balance)",
    ),
    Column("connection", JSONB, nullable=True, comment="protocol settings, e.g. Modbus host/unit"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column(
        "commissioned",
        Date,
        nullable=True,
        comment="local date from which its points owe readings (else from their first reading)",
    ),
    Column(
        "decommissioned",
        Date,
        nullable=True,
        comment="first local date on which its points owe no readings",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
    UniqueConstraint("enterprise_id", "code"),
    CheckConstraint("protocol IN ('mqtt', 'modbus', 'http', 'dlt645')", name="protocol"),
    CheckConstraint("decommissioned > commissioned", name="decommissioned_after_commissioned"),
    CheckConstraint("role IN ('boundary', 'sub', 'facility_total', 'it_load')", name="role"),
    CheckConstraint("multiplier > 0", name="multiplier_positive"),
)

points = Table(
    "points",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=False),
    Column("quantity", String(64), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("min_value", Double, nullable=True, comment="narrower plausible range than the default"),
    Column("max_value", Double, nullable=True),
    Column("register_max", Double, nullable=True, comment="counter rollover value"),
    Column(
        "max_rate",
        Double,
        nullable=True,
        comment="largest plausible use per hour (primary side); faster rises are spikes",
    ),
    Column(
        "interval_s",
        Integer,
        nullable=False,
        server_default="900",
        comment="expected reading interval, for completeness",
    ),
    Column(
        "source_point_id",
        Integer,
        ForeignKey("points.id"),
        nullable=True,
        index=True,
        comment="for an energy point integrated from power: the power point it is computed "
        "from (it takes no readings of its own)",
    ),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
    UniqueConstraint("meter_id", "quantity"),
    CheckConstraint("kind IN ('cumulative', 'instantaneous')", name="kind"),
)

# Source codes for readings.source (smallint keeps the hot table narrow).
SOURCE_CODES = {"mqtt": 1, "modbus": 2, "http": 3, "import": 4, "dlt645": 5}

readings = Table(
    "readings",
    metadata,
    Column("point_id", Integer, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("value", Double, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column(
        "source",
        SmallInteger,
        nullable=False,
        comment="1 mqtt, 2 modbus, 3 http, 4 import, 5 dlt645",
    ),
    PrimaryKeyConstraint("point_id", "ts"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),
    Column("topic", Text, nullable=True),
    Column("enterprise_code", Text, nullable=True),
    Column("gateway_code", Text, nullable=True),
    Column("reading_index", Integer, nullable=True, comment="index in the message; NULL = whole"),
    Column("reason", String(48), nullable=False),
    Column("detail", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False, comment="raw bytes (truncated when oversized)"),
    Column("payload_size", Integer, nullable=False),
    Column(
        "fingerprint",
        LargeBinary,
        nullable=False,
        unique=True,
        comment="sha256 of source/topic/payload/index: a re-delivery adds no row",
    ),
)
Index("ix_dead_letters_received_at", dead_letters.c.received_at)
Index("ix_dead_letters_reason", dead_letters.c.reason, dead_letters.c.received_at)

reading_conflicts = Table(
    "reading_conflicts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("point_id", Integer, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("first_value", Double, nullable=False, comment="the stored value (kept)"),
    Column("new_value", Double, nullable=False, comment="the re-sent value (dropped)"),
    Column("source", SmallInteger, nullable=False, comment="of the re-send"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("first_received_at", DateTime(timezone=True), nullable=False),
    Column(
        "gateway_id", Integer, nullable=True, comment="the meter's gateway when the re-send arrived"
    ),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("point_id", "ts", "new_value"),
    comment="a reading re-sent with another value than the stored one; the first is kept",
)
Index("ix_reading_conflicts_received_at", reading_conflicts.c.received_at)

rollup_dirty = Table(
    "rollup_dirty",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("point_id", Integer, nullable=False),
    Column("from_ts", DateTime(timezone=True), nullable=False),
    Column("to_ts", DateTime(timezone=True), nullable=False),
    Column("marked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="new readings per point since the rollups last caught up; consumed by the "
    "accounting job",
)

api_users = Table(
    "api_users",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False, comment="argon2id"),
    Column("role", String(16), nullable=False),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=True),
    Column("gateway_id", Integer, ForeignKey("gateways.id"), nullable=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column(
        "token_version",
        Integer,
        nullable=False,
        server_default="0",
        comment="raised at deactivation: tokens and sessions issued before stop working",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("role IN ('admin', 'officer', 'enterprise', 'gateway')", name="role"),
    CheckConstraint(
        "(role IN ('admin', 'officer') AND enterprise_id IS NULL AND gateway_id IS NULL) OR "
        "(role = 'enterprise' AND enterprise_id IS NOT NULL AND gateway_id IS NULL) OR "
        "(role = 'gateway' AND enterprise_id IS NOT NULL AND gateway_id IS NOT NULL)",
        name="tenant",
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("user_id", Integer, ForeignKey("api_users.id"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True, comment="public part of the key"),
    Column("key_hash", LargeBinary, nullable=False, comment="sha256 of the secret part"),
    Column("name", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column(
        "issued_by",
        String(128),
        nullable=True,
        comment="the admin who issued it at the console; NULL: the command line",
    ),
)

poller_members = Table(
    "poller_members",
    metadata,
    Column("owner", String(128), primary_key=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="live Modbus pollers; a member whose heartbeat is older than the lease is gone",
)

ingest_partitions = Table(
    "ingest_partitions",
    metadata,
    Column("partition", SmallInteger, primary_key=True),
    Column("owner", String(128), nullable=True, comment="the ingest replica holding it"),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("acquired_at", DateTime(timezone=True), nullable=True),
    comment="MQTT ingest partitions (one persistent broker session each) and their leases",
)

ingest_members = Table(
    "ingest_members",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("replica", String(128), nullable=False, unique=True),
    Column("host", String(255), nullable=False, server_default=""),
    Column("pid", Integer, nullable=False, server_default="0"),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "partitions",
        Text,
        nullable=False,
        server_default="",
        comment="partitions held at the last heartbeat (for operators)",
    ),
    comment="MQTT ingest replicas; a stale heartbeat is a replica that died",
)

device_leases = Table(
    "device_leases",
    metadata,
    Column("meter_id", Integer, ForeignKey("meters.id"), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    comment="which poller may poll a Modbus meter, until when (database time)",
)

device_status = Table(
    "device_status",
    metadata,
    Column("meter_id", Integer, ForeignKey("meters.id"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("last_success_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("owner", String(128), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("state IN ('online', 'degraded', 'offline')", name="state"),
    comment="per Modbus device: online / degraded / offline, for alerts and the API",
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("rule", String(48), nullable=False),
    Column("subject_type", String(16), nullable=False, comment="enterprise/site/meter/gateway"),
    Column("subject_id", Integer, nullable=False),
    Column("subject", Text, nullable=False, comment="human-readable codes of the subject"),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=True),
    Column(
        "time_window", String(24), nullable=False, server_default="", comment="e.g. rolling_24h"
    ),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("value", Double, nullable=True),
    Column("limit_value", Double, nullable=True),
    Column("evidence", JSONB, nullable=False, server_default="{}"),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_evaluated_at", DateTime(timezone=True), nullable=False),
    Column(
        "cleared_since",
        DateTime(timezone=True),
        nullable=True,
        comment="when the condition stopped holding; resolves after the hold time",
    ),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("acknowledged_by", Text, nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolved_by", Text, nullable=True),
    Column("resolution_comment", Text, nullable=True),
    CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name="state"),
    CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
)
# One live alert per (rule, subject, window): re-evaluation updates it, never duplicates it.
Index(
    "uq_alerts_live",
    alerts.c.rule,
    alerts.c.subject_type,
    alerts.c.subject_id,
    alerts.c.time_window,
    unique=True,
    postgresql_where=alerts.c.state != "resolved",
)
Index("ix_alerts_state_opened", alerts.c.state, alerts.c.opened_at)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False, comment="'system' or the officer's username"),
    Column("action", String(24), nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("alert_id", BigInteger, ForeignKey("alerts.id"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("event", String(24), nullable=False, comment="opened / resolved / renotify-N"),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("alert_id", "channel", "event"),
    CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
)
Index("ix_notifications_due", notifications.c.status, notifications.c.next_attempt_at)

consumption_15m = Table(
    "consumption_15m",
    metadata,
    Column("point_id", Integer, nullable=False),
    Column("bucket", DateTime(timezone=True), nullable=False, comment="UTC start of 15 minutes"),
    Column("energy", Double, nullable=False, comment="point unit, meter multiplier applied"),
    Column("readings", SmallInteger, nullable=False),
    Column("expected", SmallInteger, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("point_id", "bucket"),
    comment="consumption of cumulative points per 15 minutes, kept current from rollup_dirty",
)

consumption_1d = Table(
    "consumption_1d",
    metadata,
    Column("point_id", Integer, nullable=False),
    Column("day", Date, nullable=False, comment="local calendar day in rollup_meta.days_zone"),
    Column("energy", Double, nullable=False),
    Column("readings", Integer, nullable=False),
    Column("expected", Integer, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column(
        "measured_periods",
        SmallInteger,
        nullable=False,
        server_default="0",
        comment="the point's collection periods in the day holding measured data",
    ),
    Column(
        "estimated_periods",
        SmallInteger,
        nullable=False,
        server_default="0",
        comment="its periods with only gap-filled (estimated) consumption",
    ),
    PrimaryKeyConstraint("point_id", "day"),
    comment="consumption_15m summed per local day, refreshed in the same transaction",
)

counter_events = Table(
    "counter_events",
    metadata,
    Column("point_id", Integer, nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False, comment="end of the interval / the read"),
    Column("kind", String(24), nullable=False),
    Column("energy", Double, nullable=True, comment="what the interval counted (0 if excluded)"),
    Column("detected_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("point_id", "ts", "kind"),
    comment="counter anomalies the rollups found: rollover, reset, spike_excluded, "
    "drop_unexplained, bad_read (a one-off read that was ignored)",
)
Index("ix_counter_events_detected", counter_events.c.detected_at)

dr_events = Table(
    "dr_events",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("end_at > start_at", name="window"),
    comment="demand-response events recorded by officers (a window when load should drop)",
)

rollup_meta = Table(
    "rollup_meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
    comment="facts about the rollups, e.g. the zone consumption_1d was built in",
)

budgets = Table(
    "budgets",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column(
        "site_code",
        String(64),
        nullable=False,
        server_default="",
        comment="'' for the whole enterprise",
    ),
    Column("year", SmallInteger, nullable=False),
    Column(
        "carrier",
        String(32),
        nullable=False,
        server_default="",
        comment="'' = comprehensive energy in tce; else a carrier in its unit",
    ),
    Column("amount", Double, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("monthly", JSONB, nullable=True, comment="optional split: {'1': amount, ...}"),
    Column("active", Boolean, nullable=False, server_default="true"),
    UniqueConstraint("enterprise_id", "site_code", "year", "carrier"),
    CheckConstraint("amount > 0", name="amount_positive"),
)

meter_replacements = Table(
    "meter_replacements",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("point_id", Integer, ForeignKey("points.id"), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False, comment="when the swap happened"),
    Column("old_final", Double, nullable=False, comment="the old register's last value"),
    Column("new_first", Double, nullable=False, comment="the new register's first value"),
    Column("note", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("point_id", "ts"),
    comment="registered meter swaps and resets: the counter rules bridge them",
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("unit", String(16), nullable=False, comment="unit its output is entered in, e.g. t"),
    Column("quota_standard", String(32), nullable=True, comment="e.g. GB 16780-2021"),
    Column("quota_product", String(64), nullable=True, comment="its product key in the quotas"),
    Column(
        "plant",
        String(16),
        nullable=False,
        server_default="existing",
        comment="existing (judged against the 限定值) or new (against the 准入值)",
    ),
    Column("electricity_method", String(16), nullable=False, server_default="equivalent"),
    Column(
        "registered",
        Date,
        nullable=True,
        comment="local date its figures are due from (else the local date it was created)",
    ),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _now(),
    UniqueConstraint("enterprise_id", "code"),
    CheckConstraint("plant IN ('existing', 'new')", name="plant"),
    CheckConstraint("electricity_method IN ('equivalent', 'equal')", name="electricity_method"),
    comment="an enterprise's products with an energy quota or intensity to report",
)

product_attribution = Table(
    "product_attribution",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=True),
    Column("meter_id", Integer, ForeignKey("meters.id"), nullable=True),
    Column("share", Double, nullable=False, server_default="1"),
    UniqueConstraint("product_id", "site_id", "meter_id", postgresql_nulls_not_distinct=True),
    CheckConstraint("(site_id IS NULL) <> (meter_id IS NULL)", name="one_target"),
    CheckConstraint("share > 0 AND share <= 1", name="share"),
    comment="what makes up a product's comprehensive energy: a site's counted meters or one "
    "meter, with the share of it the product takes (shared utilities)",
)

production_entries = Table(
    "production_entries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column(
        "product_id",
        Integer,
        ForeignKey("products.id"),
        nullable=True,
        comment="the product of an output figure; NULL for the enterprise's economic figures",
    ),
    Column("kind", String(16), nullable=False, comment="output, value_added or gross_output"),
    Column("period", String(8), nullable=False, comment="month or day"),
    Column("period_start", Date, nullable=False, comment="local date: the day or the 1st"),
    Column("value", Double, nullable=False),
    Column("unit", String(16), nullable=False, comment="the product's unit, or 10^4 CNY"),
    Column(
        "price_base_year",
        SmallInteger,
        nullable=True,
        comment="value added and gross output: at comparable prices of this year",
    ),
    Column("revision", Integer, nullable=False, server_default="1"),
    Column("entered_by", Text, nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("comment", Text, nullable=True),
    UniqueConstraint(
        "enterprise_id",
        "product_id",
        "kind",
        "period",
        "period_start",
        postgresql_nulls_not_distinct=True,
    ),
    CheckConstraint("kind IN ('output', 'value_added', 'gross_output')", name="kind"),
    CheckConstraint("period IN ('month', 'day')", name="period"),
    CheckConstraint("(kind = 'output') = (product_id IS NOT NULL)", name="product_of_output"),
    CheckConstraint("value > 0", name="value_positive"),
    comment="production and economic figures as last entered; a re-entry is a revision",
)

production_history = Table(
    "production_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("entry_id", BigInteger, ForeignKey("production_entries.id"), nullable=True),
    Column("action", String(16), nullable=False, comment="created, revised, locked, unlocked"),
    Column("month", Date, nullable=False, comment="the local month the change concerns"),
    Column("old_value", Double, nullable=True),
    Column("new_value", Double, nullable=True),
    Column("unit", String(16), nullable=True),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", Text, nullable=True),
    CheckConstraint("action IN ('created', 'revised', 'locked', 'unlocked')", name="action"),
    comment="every change to production figures and month locks: who, when, old -> new, why",
)
Index(
    "ix_production_history_enterprise_month",
    production_history.c.enterprise_id,
    production_history.c.month,
)

production_locks = Table(
    "production_locks",
    metadata,
    Column("enterprise_id", Integer, ForeignKey("enterprises.id"), nullable=False),
    Column("month", Date, nullable=False, comment="first local day of the locked month"),
    Column("locked_by", Text, nullable=False),
    Column("locked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reason", Text, nullable=True),
    PrimaryKeyConstraint("enterprise_id", "month"),
    comment="months an officer reviewed and locked: their figures take no more changes",
)

consumption_1mo = Table(
    "consumption_1mo",
    metadata,
    Column("point_id", Integer, nullable=False),
    Column("month", Date, nullable=False, comment="first local day, in rollup_meta.days_zone"),
    Column("energy", Double, nullable=False),
    Column("readings", Integer, nullable=False),
    Column("expected", Integer, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("measured_periods", Integer, nullable=False),
    Column("estimated_periods", Integer, nullable=False),
    PrimaryKeyConstraint("point_id", "month"),
    comment="consumption_1d summed per local month, refreshed in the same transaction",
)
