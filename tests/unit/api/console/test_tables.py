"""The console's table model: how a value is printed on the page and stored in the XLSX file."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from services.api.console.tables import Column, Kind, Row, file_stem, table, workbook

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON_UTC = datetime(2026, 11, 30, 16, 5, tzinfo=UTC)  # 00:05 on 1 December in Shanghai


@pytest.mark.parametrize(
    ("column", "value", "shown", "fmt"),
    [
        (Column("Energy", "tce", Kind.NUMBER, 3), 1234.5678, "1,234.568", "#,##0.000"),
        (Column("Amount", kind=Kind.NUMBER, places=0), 1234.5, "1,234", "#,##0"),
        (Column("Reading", "kWh", Kind.NUMBER, None), 1096.0, "1096", None),
        (Column("Reading", "kWh", Kind.NUMBER, None), 0.1 + 0.2, "0.3", None),
        (Column("Share", kind=Kind.SHARE, places=1), 0.9046, "90.5 %", "0.0%"),
        (Column("Share", kind=Kind.SHARE, places=0), 0.5, "50 %", "0%"),
        (Column("#", kind=Kind.INTEGER), 7, "7", "0"),
        (Column("Opened", kind=Kind.TIME), NOON_UTC, "2026-12-01 00:05", "yyyy-mm-dd hh:mm"),
        (Column("Day", kind=Kind.DATE), date(2026, 12, 1), "2026-12-01", "yyyy-mm-dd"),
        (Column("Site"), "dc-1", "dc-1", None),
        (Column("Energy", "tce", Kind.NUMBER, 3), None, "", "#,##0.000"),
    ],
)
def test_a_value_prints_as_the_page_shows_it_and_keeps_a_matching_number_format(
    column: Column, value: object, shown: str, fmt: str | None
) -> None:
    assert column.show(value, SHANGHAI) == shown
    assert column.number_format == fmt


def test_a_header_names_its_unit_and_a_time_its_zone() -> None:
    assert Column("Energy", "tce", Kind.NUMBER).heading(SHANGHAI) == "Energy (tce)"
    assert Column("Share used", kind=Kind.SHARE).heading(SHANGHAI) == "Share used (%)"
    assert Column("Opened", kind=Kind.TIME).heading(SHANGHAI) == "Opened (Asia/Shanghai)"
    assert Column("Site").heading(SHANGHAI) == "Site"


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 cells, 3 columns"):
        table("t", "T", (Column("a"), Column("b"), Column("c")), [("x", "y")])


def test_the_file_has_title_filters_time_of_generation_then_the_typed_table() -> None:
    t = table(
        "pue-ranking",
        "PUE ranking: [ytd]",
        (
            Column("Site"),
            Column("PUE", kind=Kind.NUMBER, places=3),
            Column("Seen", kind=Kind.TIME),
        ),
        [Row(("dc-1", 1.3, NOON_UTC), links={0: "/x"}), ("dc-2", None, None)],
        filters=(("Window", "ytd"),),
    )
    body = workbook(t, zone=SHANGHAI, generated_at=NOON_UTC, gettext=lambda s: s)
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet.title == "PUE ranking   ytd"  # Excel refuses [ ] : in a sheet's title
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][0] == "PUE ranking: [ytd]"
    assert rows[1][:2] == ["Window", "ytd"]
    assert rows[2][:2] == ["Generated at", "2026-12-01 00:05 (Asia/Shanghai)"]
    assert all(v is None for v in rows[3])
    assert rows[4] == ["Site", "PUE", "Seen (Asia/Shanghai)"]
    assert rows[5] == ["dc-1", 1.3, datetime(2026, 12, 1, 0, 5)]  # wall-clock time, no offset
    assert rows[6] == ["dc-2", None, None]
    assert sheet["B6"].number_format == "#,##0.000"
    assert sheet.freeze_panes == "A6"
    assert sheet.auto_filter.ref == "A5:C7"


def test_a_file_is_named_in_ascii_and_by_its_title() -> None:
    t = table("budget-ranking", "本年用能预算 / 全区", (Column("a"),), [])
    assert file_stem(t, NOON_UTC, SHANGHAI) == (
        "energymon-budget-ranking-20261201-0005",
        "本年用能预算 - 全区-20261201-0005",
    )
