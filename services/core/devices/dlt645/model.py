"""DL/T 645-2007 data identifier maps: which DI a meter answers, in which format and unit."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.devices.dlt645.values import ValueFormat

TIME_FORMAT = "YYMMDDhhmm"  # e.g. the daily freeze time, 5 BCD bytes, minute first on the wire

# Appendix A of DL/T 645-2007 files every data identifier under one table by its DI3.
TABLE_DI3 = {
    "A.1": 0x00,  # 电能量 (energy)
    "A.2": 0x01,  # 最大需量及发生时间 (maximum demand)
    "A.3": 0x02,  # 变量 (instantaneous variables)
    "A.4": 0x03,  # 事件记录 (event records)
    "A.5": 0x04,  # 参变量 (parameters)
    "A.6": 0x05,  # 冻结量 (frozen data)
    "A.7": 0x06,  # 负荷记录 (load records)
}


@dataclass(frozen=True, slots=True)
class DataItem:
    name: str
    di: int  # DI3 DI2 DI1 DI0 as the tables list it, e.g. 0x00010000
    format: ValueFormat | None  # None for a TIME_FORMAT item
    unit: str
    table: str  # "A.1"
    title: str  # the table's own name of the item, e.g. (当前)正向有功总电能
    point: str | None = None  # the platform quantity it feeds, if any
    block: bool = False  # a data block: the total then one value per tariff

    @property
    def di_text(self) -> str:
        return f"{self.di:08X}"

    @property
    def is_time(self) -> bool:
        return self.format is None


@dataclass(frozen=True, slots=True)
class DataMap:
    model: str
    title: str
    standard: str
    items: tuple[DataItem, ...]

    def fed_points(self) -> dict[str, DataItem]:
        return {i.point: i for i in self.items if i.point is not None}

    def by_di(self) -> dict[int, DataItem]:
        return {i.di: i for i in self.items}
