"""Broker credentials from the registry: a password and an ACL file for each of the broker's two
listeners (services/core/broker_config.py).

- The **internal** listener's files hold the platform's own account only: ingest, which reads
  every gateway's readings and status and writes every gateway's commands. No gateway's
  credentials log in there.
- The **gateway** listener's files hold one account per active gateway,
  ``<enterprise code>.<gateway code>`` (also its client id there), which may write its own readings
  and status and read its own commands; nothing else, so no wildcard or ``$share`` subscription
  of a gateway ever receives anything.

Passwords are random, kept in a credentials CSV (mode 0600) that the operator hands to gateway
installers; re-running keeps existing passwords, adds new gateways and drops deactivated ones. The
ingest account's password may instead come from the operator (``ENERGYMON_MQTT_URL``), so that
the broker and ingest always agree.

Password hashes use Mosquitto's ``$7$`` format: PBKDF2-HMAC-SHA512, 101 iterations, a 12-byte salt,
``$7$<iterations>$<base64 salt>$<base64 hash>``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from services.core.broker_config import GATEWAY_FILES, INTERNAL_FILES
from services.core.errors import ConfigError
from services.core.registry.sparkplug import binding_of
from services.core.schema.tables import enterprises, gateways, meters

PBKDF2_ITERATIONS = 101
INGEST_USER = "energymon-ingest"


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str


def gateway_username(enterprise: str, gateway: str) -> str:
    return f"{enterprise}.{gateway}"


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return (
        f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}"
        f"${base64.b64encode(digest).decode()}"
    )


def active_gateways(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(enterprises.c.code, gateways.c.code)
        .join(gateways, gateways.c.enterprise_id == enterprises.c.id)
        .where(enterprises.c.active, gateways.c.active)
        .order_by(enterprises.c.code, gateways.c.code)
    )
    return [(e, g) for e, g in rows]


SparkplugNodes = dict[tuple[str, str], set[tuple[str, str]]]
"""(enterprise, gateway) -> the Sparkplug (group, node) ids its account may publish as."""


def sparkplug_nodes_by_gateway(conn: Connection) -> SparkplugNodes:
    """The Sparkplug edge nodes of meters bound behind a gateway (docs/sparkplug.md): the
    gateway's account is the edge node's broker account."""
    rows = conn.execute(
        select(enterprises.c.code, gateways.c.code, meters.c.connection)
        .join(gateways, gateways.c.enterprise_id == enterprises.c.id)
        .join(meters, meters.c.gateway_id == gateways.c.id)
        .where(enterprises.c.active, gateways.c.active, meters.c.active)
        .where(meters.c.connection.is_not(None))
    )
    out: SparkplugNodes = {}
    for ent, gw, connection in rows:
        binding = binding_of(connection)
        if binding is not None:
            out.setdefault((ent, gw), set()).add((binding.group, binding.node))
    return out


def read_credentials(text: str) -> dict[str, str]:
    return {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(text))}


def plan_credentials(
    gws: Iterable[tuple[str, str]],
    existing: dict[str, str],
    ingest_user: str = INGEST_USER,
    ingest_password: str | None = None,
) -> list[Credential]:
    """Ingest's account first, then each gateway's. Keep known passwords, create new ones;
    deactivated gateways drop out. ``ingest_password``, when given, is ingest's password."""
    gateway_users = [gateway_username(e, g) for e, g in gws]
    if ingest_user in gateway_users:
        raise ConfigError(f"the ingest account {ingest_user!r} is also a gateway's user name")
    known = {**existing, ingest_user: ingest_password} if ingest_password else existing
    return [
        Credential(u, known.get(u) or secrets.token_urlsafe(24))
        for u in [ingest_user, *gateway_users]
    ]


def render_credentials(creds: list[Credential]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows((c.username, c.password) for c in creds)
    return out.getvalue()


def render_password_file(creds: list[Credential]) -> str:
    return "".join(f"{c.username}:{mosquitto_hash(c.password)}\n" for c in creds)


def render_internal_acl(topic_root: str, ingest_user: str = INGEST_USER) -> str:
    return "\n".join(
        [
            "# Generated by `energymon mqtt credentials`; do not edit by hand.",
            "# The broker's internal listener: platform accounts only. Anything not granted here",
            "# is denied.",
            "",
            f"user {ingest_user}",
            f"topic read {topic_root}/v1/+/+/readings",
            f"topic read {topic_root}/v1/+/+/status",
            f"topic write {topic_root}/v1/+/+/commands",
            "# the Sparkplug host: every edge node's messages, its STATE, rebirth commands",
            "topic read spBv1.0/#",
            "topic write spBv1.0/STATE/+",
            "topic write spBv1.0/+/NCMD/+",
            "",
        ]
    )


def _sparkplug_grants(group: str, node: str) -> list[str]:
    """An edge node's own topics (Sparkplug 3.0.0, chapter 4): births, data and deaths of the
    node and its devices; its commands; every host's STATE."""
    base = f"spBv1.0/{group}"
    return [
        *(f"topic write {base}/{kind}/{node}" for kind in ("NBIRTH", "NDATA", "NDEATH")),
        *(f"topic write {base}/{kind}/{node}/+" for kind in ("DBIRTH", "DDATA", "DDEATH")),
        f"topic read {base}/NCMD/{node}",
        f"topic read {base}/DCMD/{node}/+",
        "topic read spBv1.0/STATE/+",
    ]


def render_gateway_acl(
    gws: Iterable[tuple[str, str]], topic_root: str, sparkplug: SparkplugNodes | None = None
) -> str:
    # Mosquitto's ACL file never refuses a SUBSCRIBE (the SUBACK grants it); read access is
    # checked on each delivery, so a subscription to anything but its own commands (`#`, another
    # gateway's topics, a `$share` group) delivers nothing to a gateway.
    lines = [
        "# Generated by `energymon mqtt credentials`; do not edit by hand.",
        "# The broker's gateway listener: gateways only. Anything not granted here is denied.",
        "",
    ]
    for ent, gw in gws:
        base = f"{topic_root}/v1/{ent}/{gw}"
        lines += [
            f"user {gateway_username(ent, gw)}",
            f"topic write {base}/readings",
            f"topic write {base}/status",
            f"topic read {base}/commands",
        ]
        for group, node in sorted((sparkplug or {}).get((ent, gw), ())):
            lines += _sparkplug_grants(group, node)
        lines.append("")
    return "\n".join(lines)


def render_files(
    gws: Iterable[tuple[str, str]],
    creds: list[Credential],
    topic_root: str,
    ingest_user: str = INGEST_USER,
    sparkplug: SparkplugNodes | None = None,
) -> dict[str, str]:
    """Every file ``energymon mqtt credentials`` writes, by name: the credentials CSV and each
    listener's password and ACL files (ingest's account only on the internal listener, gateways'
    only on the gateway listener)."""
    internal = [c for c in creds if c.username == ingest_user]
    gateway = [c for c in creds if c.username != ingest_user]
    return {
        "credentials.csv": render_credentials(creds),
        INTERNAL_FILES.password_file: render_password_file(internal),
        INTERNAL_FILES.acl_file: render_internal_acl(topic_root, ingest_user),
        GATEWAY_FILES.password_file: render_password_file(gateway),
        GATEWAY_FILES.acl_file: render_gateway_acl(gws, topic_root, sparkplug),
    }
