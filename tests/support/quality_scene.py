"""One local day (17 November 2026, Shanghai) of the small district with every kind of
data-quality finding, written through the one write path and rolled up:

- M-100 (x80) 80 kWh a quarter hour against its sub-meters F-1 (50) and F-2 (25): 6.25 % short;
- a re-send of M-100's 10:00 reading with another value (a conflict);
- DC-IN-1 all day, DC-IT-1 only until 11:45 and one reading for 12:00 that arrived two hours late;
- G-1 never reported;
- a dead letter naming enterprise A (unknown_meter) and one naming no enterprise (invalid_topic);
- enterprise B's B-1 all day: complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.model import Batch, DeadLetter, Reason
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.support.feed import feed_counter, point_id
from tests.support.quality import add_sub_meters

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)
ENT_A = "91120111MA05K8XX3E"
CONFLICT_AT = DAY + timedelta(hours=10)
LATE_AT = DAY + timedelta(hours=12)


def _dead_letter(enterprise: str | None, reason: Reason) -> DeadLetter:
    return DeadLetter(
        source="mqtt",
        received_at=DAY + timedelta(hours=9),
        topic=f"energymon/v1/{enterprise or 'x'}/gw-01/readings",
        enterprise_code=enterprise,
        gateway_code="gw-01",
        reading_index=0,
        reason=reason,
        detail=reason.value,
        payload=b"{}",
        payload_size=2,
    )


def seed_quality_day(db: DatabaseSettings) -> None:
    add_sub_meters(db)
    for meter, start, step, count in (
        ("M-100", 1000.0, 1.0, 97),
        ("F-1", 0.0, 50.0, 97),
        ("F-2", 0.0, 25.0, 97),
        ("DC-IN-1", 0.0, 13.0, 97),
        ("DC-IT-1", 0.0, 10.0, 48),
        ("B-1", 0.0, 5.0, 97),
    ):
        feed_counter(db, meter, DAY, count, start, step)
    writer = ReadingWriter(db)
    writer.write(
        Batch(
            rows=[
                (point_id(db, "M-100"), CONFLICT_AT, 99.0, CONFLICT_AT + timedelta(hours=1), 1),
                (point_id(db, "DC-IT-1"), LATE_AT, 480.0, LATE_AT + timedelta(hours=2), 1),
            ],
            dead_letters=[
                _dead_letter(ENT_A, Reason.UNKNOWN_METER),
                _dead_letter(None, Reason.INVALID_TOPIC),
            ],
        )
    )
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()
