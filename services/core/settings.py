"""Settings, read from ``ENERGYMON_*`` environment variables.

Each service composes the parts it needs in its ``main()``; nothing here reads the environment at
import time. Every field has a default and a description; ``energymon config show`` prints them and
``docs/configuration.md`` is generated from the same classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.core.errors import ConfigError

DEV_JWT_KEYS = "dev:insecure-development-signing-key-change-me"


class CommonSettings(BaseSettings):
    """Settings every process shares."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses dangerous defaults (anonymous MQTT, default secrets).",
    )
    timezone: str = Field(
        "Asia/Shanghai",
        description=(
            "IANA zone for calendar boundaries (day, month, year). Storage is always UTC. "
            "After changing it, run `energymon accounting rebuild-days`."
        ),
    )
    min_completeness: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Completeness (measured share of a point's expected 15-minute or own "
        "collection periods) below which a PUE side or a budget's data is insufficient: no PUE "
        "verdict, no `pue_over_limit`; budget answers say `data_sufficient: false`; the "
        "data-quality report flags the point and an enterprise's day below it raises "
        "`enterprise_low_completeness`.",
    )
    production_due_day: int = Field(
        10,
        ge=1,
        le=28,
        description="The day of the next month by which a month's production and economic "
        "figures (output, value added) are due: from the day after, `energymon production "
        "missing`, `/api/v1/district/production/missing` and the `production_missing` alert "
        "report the enterprises still lacking them.",
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_format: Literal["json", "console"] = Field(
        "json", description="`json` (one object per line) or `console` (human-readable)."
    )
    debug: bool = Field(
        False,
        description="Commands that fail show the full traceback instead of one or two lines "
        "(as `energymon --debug` does).",
    )
    shutdown_timeout_s: float = Field(
        20.0,
        ge=0,
        description="After SIGTERM or SIGINT a service has this long to shut down cleanly, then "
        "exits anyway (code 128 + signal; the API cancels the requests still running). Keep it a "
        "few seconds below the orchestrator's grace period (Kubernetes: 30 s). A second signal "
        "exits at once. 0 = no bound.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseSettings(BaseSettings):
    """PostgreSQL (optionally with TimescaleDB)."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_DATABASE_", extra="ignore")

    url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/energymon",
        description="PostgreSQL URL (`postgresql://user:pass@host:port/db`).",
    )
    timescale: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Use TimescaleDB hypertables: `auto` when the extension is installed and in "
        "`shared_preload_libraries` (else plain PostgreSQL, with a warning), `on` fails "
        "without it, `off` never.",
    )
    retention_days: int = Field(
        1825,
        ge=1,
        description="Raw readings older than this are dropped (TimescaleDB policy) "
        "and rejected at ingest.",
    )
    compress_after_days: int = Field(
        14,
        ge=1,
        description="TimescaleDB compresses chunks of readings and rollups whose end is older "
        "than this: keep it above how late readings routinely arrive (gateway outages, "
        "backfills), since a late reading in a compressed chunk costs a decompression.",
    )
    chunk_interval_days: int = Field(
        7,
        ge=1,
        description="TimescaleDB chunk interval of readings and 15-minute rollups; a change "
        "applies to chunks created after the next `db upgrade`.",
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="Connection timeout in seconds.")
    ping_idle_s: float = Field(
        1.0,
        ge=0,
        description="A pooled connection idle for longer than this is checked with a round trip "
        "before it is used (a server restart, a failover or a proxy's idle timeout closes idle "
        "connections); one used more recently is trusted, and should it have died all the same "
        "its request fails and the pool replaces every connection older than the failure. "
        "0 checks every time.",
    )
    read_url: str | None = Field(
        None,
        description="A PostgreSQL streaming replica of `ENERGYMON_DATABASE_URL` that the API's "
        "and console's pages, reports and exports (and `energymon export readings`) read from; "
        "logins, account checks and every write stay on the primary, and a console page shown "
        "after the user's own change reads the primary until the replica has replayed it. "
        "Unset: everything reads the primary. While the replica is unreachable reads fall back "
        "to the primary (docs/deploy.md, Read replicas).",
    )
    read_max_lag_s: float = Field(
        10.0,
        ge=0,
        description="When the read replica is further behind the primary than this, API answers "
        "read from it carry `X-Energymon-Replica-Behind-S` and console pages say so.",
    )

    @field_validator("url", "read_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if not value:  # an empty ENERGYMON_DATABASE_READ_URL= is unset
            return None
        scheme = urlsplit(value).scheme
        if scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
            raise ValueError(f"expected a postgresql:// URL, got scheme {scheme!r}")
        return value

    def replica(self) -> DatabaseSettings | None:
        """These settings pointing at the read replica (None: no replica configured)."""
        if self.read_url is None:
            return None
        return self.model_copy(update={"url": self.read_url, "read_url": None})

    def for_reads(self) -> DatabaseSettings:
        """Where a read-only command reads: the replica when one is configured, else the
        primary."""
        return self.replica() or self

    @property
    def libpq_url(self) -> str:
        """The URL for psycopg (no SQLAlchemy driver suffix)."""
        parts = urlsplit(self.url)
        return parts._replace(scheme="postgresql").geturl()

    @property
    def sqlalchemy_url(self) -> str:
        parts = urlsplit(self.url)
        return parts._replace(scheme="postgresql+psycopg").geturl()


class MqttEndpoint(BaseModel):
    """A broker address parsed from ``mqtt://user:pass@host:port`` or ``mqtts://``."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


class MqttSettings(BaseSettings):
    """The MQTT broker and the topic contract."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_MQTT_", extra="ignore")

    url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="Broker URL: `mqtt://[user:pass@]host[:1883]` or `mqtts://...[:8883]`.",
    )
    topic_root: str = Field(
        "energymon",
        description="First topic level; topics are `<root>/v1/<enterprise>/<gateway>/...`.",
    )
    ca_file: Path | None = Field(
        None, description="CA bundle for `mqtts://` (system CAs if unset)."
    )
    keepalive_s: int = Field(30, ge=5, description="MQTT keep-alive in seconds.")

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
            raise ValueError(f"expected mqtt:// or mqtts://, got scheme {scheme!r}")
        return value

    @property
    def endpoint(self) -> MqttEndpoint:
        parts = urlsplit(self.url)
        tls = parts.scheme in {"mqtts", "ssl"}
        return MqttEndpoint(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def readings_topic(self, enterprise: str, gateway: str) -> str:
        return f"{self.topic_root}/v1/{enterprise}/{gateway}/readings"

    def status_topic(self, enterprise: str, gateway: str) -> str:
        return f"{self.topic_root}/v1/{enterprise}/{gateway}/status"

    def commands_topic(self, enterprise: str, gateway: str) -> str:
        """Where the platform publishes commands to one gateway (QoS 1); only it may read them."""
        return f"{self.topic_root}/v1/{enterprise}/{gateway}/commands"


class IngestSettings(BaseSettings):
    """The ingest pipeline: limits, batching, spool, metrics."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_INGEST_", extra="ignore")

    client_id: str = Field(
        "energymon-ingest",
        description="MQTT client id base, the same on every replica: partition k is the "
        "persistent broker session `<client_id>-p<k>`, held by one replica at a time.",
    )
    partitions: int = Field(
        1,
        ge=1,
        le=256,
        description="MQTT partitions (broker sessions) that replicas share out; with more than "
        "one, partition k subscribes to the enterprises whose code hashes to k. Lowering it "
        "drains and removes the sessions beyond it.",
    )
    replica_id: str = Field(
        "",
        description="This replica's name in the partition lease table (default: host-pid).",
    )
    lease_ttl_s: float = Field(
        15.0,
        gt=1,
        description="Partition lease lifetime: a dead replica's partitions are taken over "
        "within about this long plus one lease round.",
    )
    lease_round_s: float = Field(
        5.0, gt=0, description="How often partition leases are renewed and rebalanced."
    )
    session_expiry_s: int = Field(
        604800,
        ge=0,
        description="How long the broker keeps a partition's session (and queues for it) while "
        "no replica holds it: the longest full ingest outage that loses nothing.",
    )
    receive_maximum: int = Field(
        2000,
        ge=1,
        le=65535,
        description="Unacknowledged QoS 1 messages the broker may have in flight to this client.",
    )
    batch_max_readings: int = Field(
        5000, ge=1, description="Flush a batch when it holds this many readings ..."
    )
    batch_max_age_ms: int = Field(
        100, ge=1, description="... or when its oldest message is this old."
    )
    max_payload_bytes: int = Field(
        262144, ge=1024, description="Larger MQTT/HTTP payloads are dead-lettered unparsed."
    )
    max_readings_per_message: int = Field(
        10000, ge=1, description="Messages with more readings are dead-lettered whole."
    )
    max_future_skew_s: int = Field(
        300, ge=0, description="Readings stamped further than this in the future are rejected."
    )
    spool_dir: Path = Field(
        Path("var/spool"),
        description="Durable local spool used while the database is unreachable.",
    )
    spool_max_bytes: int = Field(
        2 * 1024**3,
        ge=1024**2,
        description="Spool bound; beyond it ingest stops acknowledging (the broker holds the rest).",  # noqa: E501
    )
    registry_refresh_s: float = Field(
        30.0, gt=0, description="How often the meter registry cache is reloaded."
    )
    db_retry_max_s: float = Field(
        30.0, gt=0, description="Longest back-off between database retries."
    )
    max_attempts: int = Field(
        3,
        ge=1,
        description="A message whose processing fails unexpectedly this many times (also across "
        "redeliveries) is dead-lettered as `processing_error` and acknowledged.",
    )
    writer_stall_s: float = Field(
        60.0, gt=0, description="`/readyz` fails when the writer thread has not cycled this long."
    )
    resend_after_s: float = Field(
        60.0,
        gt=0,
        description="A gap in a gateway's `seq` older than this is requested again from the "
        "gateway (a `resend` command on its commands topic).",
    )
    resend_every_s: float = Field(
        300.0, gt=0, description="Interval between repeated re-send requests for one gap."
    )
    resend_max_requests: int = Field(
        5, ge=0, description="Re-send requests per gap before only the alert remains (0 = none)."
    )
    seq_gap_expiry_days: float = Field(
        7.0,
        gt=0,
        description="Gaps in a gateway's `seq` older than this are given up as lost (logged and "
        "counted); the `sequence_gap` alert has reported them long before.",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of /metrics, /healthz, /readyz.")
    metrics_port: int = Field(
        9101, ge=0, le=65535, description="Port of /metrics (0 = any free port)."
    )


def require_safe(
    common: CommonSettings, mqtt: MqttSettings | None = None, api: ApiSettings | None = None
) -> None:
    """Refuse dangerous defaults outside development."""
    if common.env != "production":
        return
    if api is not None and any(secret in DEV_JWT_KEYS for _kid, secret in api.keys):
        raise ConfigError(
            "ENERGYMON_API_JWT_KEYS is the development default; refused in production"
        )
    if mqtt is not None and mqtt.endpoint.username is None:
        raise ConfigError(
            "ENERGYMON_MQTT_URL has no credentials; anonymous MQTT is refused in production"
        )


class ApiSettings(BaseSettings):
    """The monitoring API."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_API_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the API listens on.")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="API processes sharing the port (one per core is typical). Each keeps its own "
        "rate limiter, login throttle and ranking snapshots; `/metrics` sums every process's "
        "samples.",
    )
    keepalive_requests: int = Field(
        1000,
        ge=0,
        description="Requests a keep-alive connection serves before its answer says "
        "`Connection: close` and the client connects again, so long-lived clients do not stay "
        "for good on the worker (or API replica behind a load balancer) that first accepted "
        "them; 0 keeps connections for as long as clients do.",
    )
    jwt_keys: str = Field(
        DEV_JWT_KEYS,
        description="Signing keys as `kid:secret,kid:secret`; the first signs new tokens, all "
        "verify (rotate by prepending a new key). The default is refused in production.",
    )
    token_ttl_s: int = Field(900, ge=60, le=86400, description="Access-token lifetime in seconds.")
    audience: str = Field("energymon-api", description="JWT audience (`aud`) issued and required.")
    max_page_size: int = Field(1000, ge=1, description="Largest `limit` a list accepts.")
    max_range_days: int = Field(400, ge=1, description="Longest time range one query may ask for.")
    max_body_bytes: int = Field(1048576, ge=1024, description="Largest request body accepted.")
    rate_limit_per_s: float = Field(50.0, gt=0, description="Sustained requests/s per credential.")
    rate_limit_burst: int = Field(200, ge=1, description="Burst allowance per credential.")
    login_failures_per_username: int = Field(
        5,
        ge=1,
        description="Failed logins (`POST /api/v1/auth/token`) a username may have within "
        "`ENERGYMON_API_LOGIN_WINDOW_S`; after that it answers 429, even to the right password, "
        "until the oldest failure leaves the window. A successful login clears the count.",
    )
    login_failures_per_address: int = Field(
        20,
        ge=1,
        description="Failed logins one client address (an IPv6 /64) may have within the window, "
        "whatever the usernames; after that its logins answer 429.",
    )
    login_window_s: float = Field(
        900.0, ge=1, description="The window of the login failure limits, seconds."
    )
    login_tracked_keys: int = Field(
        10000,
        ge=100,
        description="Usernames, and separately client addresses, the login throttle remembers "
        "(expired ones are forgotten first, then the least recently tried; ~0.3 KB a username, "
        "~0.4 KB an address).",
    )
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="Addresses or networks (comma-separated) allowed to give the client address "
        "in `X-Forwarded-For`: the TLS-terminating proxy in front of the API. Login throttling "
        "counts per client address, so behind a proxy list it here (never `*`: clients could "
        "then choose their address).",
    )
    db_pool_size: int = Field(
        16,
        ge=1,
        le=200,
        description="Database connections each API process keeps open (more concurrent requests "
        "than this open and close extra connections, ~2 ms of server CPU each).",
    )
    snapshot_ttl_s: float = Field(
        30.0,
        ge=0,
        description="District-wide rankings (data-centre PUE, budgets, energy intensity) are "
        "computed at most this often and shared by every caller (responses carry `Age`); 0 "
        "computes per request.",
    )
    console_session_s: int = Field(
        28800,
        ge=300,
        le=604800,
        description="How long an officer console login lasts (the session cookie's signed "
        "token; the console's tokens are not accepted by the JSON API).",
    )
    console_secure_cookie: bool = Field(
        False,
        description="Mark the console's cookies `Secure` (sent over HTTPS only). Always on when "
        "`ENERGYMON_ENV` is production.",
    )
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes for password hashes.")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory per hash, KiB.")

    @property
    def keys(self) -> list[tuple[str, str]]:
        return self.parse_keys(self.jwt_keys)

    @staticmethod
    def parse_keys(jwt_keys: str) -> list[tuple[str, str]]:
        """``kid:secret,kid:secret`` as (kid, secret) pairs, the signing one first."""
        pairs = []
        for item in jwt_keys.split(","):
            kid, sep, secret = item.strip().partition(":")
            if not sep or not kid or len(secret) < 32:
                raise ConfigError(
                    "ENERGYMON_API_JWT_KEYS must be `kid:secret` pairs with secrets of at least "
                    "32 characters (HS256 wants 256-bit keys)"
                )
            pairs.append((kid, secret))
        return pairs


class AccountingSettings(BaseSettings):
    """The accounting service: the 15-minute and daily rollups every figure rests on."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_ACCOUNTING_", extra="ignore")

    interval_s: float = Field(
        10.0,
        gt=0,
        description="Seconds between rollup passes of the active process; a standby tries to "
        "take over as often. New readings count in every figure within about this long.",
    )
    ranges_per_transaction: int = Field(
        5000,
        ge=1,
        description="A pass rolls up pending ranges of new readings in transactions of at most "
        "this many.",
    )
    lag_threshold_s: float = Field(
        300.0,
        gt=0,
        description="The rollups are behind when the oldest range of new readings not yet rolled "
        "up is older than this: the API then marks every answer with figures "
        "(`X-Energymon-Rollups-Behind-S`, docs/api.md).",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of /metrics, /healthz, /readyz.")
    metrics_port: int = Field(
        9104, ge=0, le=65535, description="Port of the accounting /metrics (0 = any free port)."
    )


class AlertsSettings(BaseSettings):
    """The alerts service: evaluation, lifecycle, notification channels."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_ALERTS_", extra="ignore")

    interval_s: float = Field(60.0, gt=0, description="Evaluation interval of every rule family.")
    hold_s: float = Field(
        600.0, ge=0, description="A condition must stay clear this long before auto-resolve."
    )
    silent_intervals: int = Field(
        3, ge=1, description="A meter is silent after this many expected intervals without data."
    )
    pue_margin: float = Field(
        0.02, ge=0, description="Hysteresis: a PUE alert clears below limit - margin."
    )
    seq_gap_window_s: float = Field(
        900.0,
        gt=0,
        description="`sequence_gap` opens when a gateway's messages (by `seq`) have been missing "
        "this long (ingest asks the gateway to re-send them first).",
    )
    ingest_unowned_s: float = Field(
        60.0,
        gt=0,
        description="`ingest_partition_unowned` opens when no ingest replica has held an MQTT "
        "partition this long.",
    )
    ingest_replica_stale_s: float = Field(
        120.0,
        gt=0,
        description="`ingest_replica_lost` opens when an ingest replica stopped heartbeating "
        "this long ago without leaving.",
    )
    budget_thresholds: str = Field("0.8,0.9", description="Budget warning shares, comma-separated.")
    intensity_yoy_rise: float = Field(
        0.05,
        gt=0,
        description="`intensity_yoy_rise` opens when a month's energy per 10^4 CNY of value added "
        "of an enterprise, or unit energy of a product, rose more than this share on the same "
        "month last year (an operating threshold of the platform, not a standard's value).",
    )
    routes: str = Field(
        "*:warning=webhook,email",
        description="`rule-glob:min-severity=channel,...;...` — which alerts go where "
        "(only configured channels are used).",
    )
    renotify_s: float = Field(
        0, ge=0, description="Re-notify a still-open alert after this long (0 = never)."
    )
    webhook_url: str = Field("", description="Webhook channel: POST JSON here (empty = off).")
    webhook_secret: str = Field("", description="HMAC-SHA256 key signing each webhook body.")
    webhook_timeout_s: float = Field(5.0, gt=0, description="Webhook request timeout.")
    smtp_host: str = Field("", description="Email channel: SMTP server (empty = off).")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str = Field("", description="SMTP login (empty = no AUTH).")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_from: str = Field("energymon@localhost", description="Sender address.")
    email_to: str = Field("", description="Recipients, comma-separated.")
    digest_s: float = Field(
        0,
        ge=0,
        description="Batch email into one digest per this many "
        "seconds (0 = one mail per alert event).",
    )
    max_attempts: int = Field(
        10, ge=1, description="Delivery attempts before a notification fails."
    )
    metrics_host: str = Field("127.0.0.1", description="Address of /metrics, /healthz, /readyz.")
    metrics_port: int = Field(9103, ge=0, le=65535, description="Port of the alerts /metrics.")


class QualitySettings(BaseSettings):
    """The data-quality report and the quality alerts."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_QUALITY_", extra="ignore")

    balance_tolerance: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Meter balance: |parent - sum of sub-meters| / parent above this share is a "
        "deviation (a platform default, not a figure from a standard).",
    )
    late_after_s: float = Field(
        900.0,
        gt=0,
        description="A reading received this long after its timestamp counts as late in the "
        "data-quality report (default: one 15-minute collection interval).",
    )


class QuotaSettings(BaseSettings):
    """The product energy-quota standards (单位产品能源消耗限额) verdicts are judged by."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_QUOTAS_", extra="ignore")

    file: Path | None = Field(
        None,
        description="A quota file (YAML, or CSV with a header row) used instead of the shipped "
        "services/core/data/quotas.yaml; `energymon quotas check FILE` validates one. See "
        "docs/quotas.md.",
    )


class IntensitySettings(BaseSettings):
    """Energy-intensity figures (能耗强度): the district's target."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_INTENSITY_", extra="ignore")

    target_decline: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="The district's target year-on-year decline of energy per 10^4 CNY of value "
        "added, as a share (0.03 = 3 %), as the district's own plan states it; unset: answers "
        "say 'no target set' (no figure is assumed). See docs/intensity.md.",
    )


class ModbusSettings(BaseSettings):
    """The Modbus poller."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_MODBUS_", extra="ignore")

    owner: str = Field("", description="This poller's name in the lease table (default: host-pid).")
    lease_ttl_s: float = Field(
        15.0,
        gt=1,
        description="Device lease lifetime; a dead poller's "
        "devices are taken over within about this long.",
    )
    round_s: float = Field(
        5.0,
        gt=0,
        description="How often leases are renewed and devices reconciled with the registry.",
    )
    max_concurrency: int = Field(256, ge=1, description="Polls in flight at once in this process.")
    retries: int = Field(1, ge=0, description="Retries of a failed read within one poll.")
    offline_after: int = Field(3, ge=1, description="Consecutive failed polls before offline.")
    maps_dir: Path | None = Field(
        None, description="Extra device map files (*.yaml) beside the shipped ones."
    )
    spool_dir: Path = Field(Path("var/spool-modbus"), description="The poller's own spool.")
    metrics_host: str = Field("127.0.0.1", description="Address of /metrics, /healthz, /readyz.")
    metrics_port: int = Field(9102, ge=0, le=65535, description="Port of the poller's /metrics.")
    dtu_host: str = Field(
        "127.0.0.1",
        description="Address the DTU listener binds (DL/T 645 meters behind 4G DTUs that dial "
        "in, docs/dlt645.md); 0.0.0.0 to accept DTUs from outside this machine.",
    )
    dtu_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port DTUs dial in to; unset: no DTU listener (meters registered with "
        "transport dtu are then not polled).",
    )
    dtu_registration_timeout_s: float = Field(
        10.0, gt=0, description="A DTU's registration packet must arrive within this long."
    )
    dtu_models_dir: Path | None = Field(
        None, description="Extra DTU model files (*.yaml with a dtu_model key) beside the shipped."
    )


class SparkplugSettings(BaseSettings):
    """The Sparkplug B 3.0 host application (`energymon ingest sparkplug`, docs/sparkplug.md)."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_SPARKPLUG_", extra="ignore")

    host_id: str = Field(
        "energymon",
        pattern=r"^[^/+#]+$",
        description="Host application id: the STATE topic is spBv1.0/STATE/<host_id>; edge "
        "nodes configured with it as their Primary Host store and forward while it is offline.",
    )
    client_id: str = Field(
        "", description="MQTT client id (default: energymon-sparkplug-<host_id>)."
    )
    reorder_window: int = Field(
        8,
        ge=0,
        le=127,
        description="Messages a node's seq may run ahead of the next expected one and be held "
        "for reordering; further ahead is a gap.",
    )
    reorder_timeout_s: float = Field(
        2.0, gt=0, description="How long a held message waits for the missing ones (then: gap)."
    )
    rebirth_min_interval_s: float = Field(
        30.0, ge=0, description="At most one rebirth request per edge node in this many seconds."
    )
    spool_dir: Path = Field(Path("var/spool-sparkplug"), description="The host's own spool.")
    metrics_host: str = Field("127.0.0.1", description="Address of /metrics, /healthz, /readyz.")
    metrics_port: int = Field(
        9105, ge=0, le=65535, description="Port of the host's /metrics (0 = any free port)."
    )


class DemoSettings(BaseSettings):
    """The demo (`energymon demo`, development only)."""

    model_config = SettingsConfigDict(env_prefix="ENERGYMON_DEMO_", extra="ignore")

    episode_delay_s: float = Field(
        60.0,
        ge=0,
        description="The demo's first scripted episode (a new data centre's gateway starts "
        "publishing) comes this long after the demo is ready, the second (a budget revision) at "
        "twice this.",
    )
