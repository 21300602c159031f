"""Message sequence numbers of a gateway: which messages are missing, as ranges.

A gateway numbers its readings messages (``seq``, +1 per message). Whatever reached the platform,
in whatever order, the missing messages are the numbers between the first one seen and the highest
one seen that never arrived. They are kept as ranges (gaps): a message arriving late fills its
number, splitting a range if needed; a number above the highest opens a gap for everything
skipped. A gateway that restarts its counter (a number far below the highest) starts a new epoch:
the old epoch's gaps stay as they are (nobody can fill them by number any more) and counting starts
again. Pure: the caller brings the state, the numbers in arrival order and the time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

RESTART_BELOW = 1000
"""A number more than this below the highest seen means the gateway restarted its counter."""

MAX_GAPS = 1000
"""Open gaps kept per gateway; beyond it the two oldest are merged (a re-send request then also
names a few messages that did arrive, which is harmless: storage is idempotent)."""


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Messages ``first..last`` (inclusive) of one epoch have not arrived."""

    first: int
    last: int
    opened_at: datetime
    resend_requests: int = 0
    last_request_at: datetime | None = None

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class SeqState:
    """One gateway's counter: its epoch, the highest number seen in it and its open gaps."""

    epoch: int = 0
    last_seq: int | None = None
    gaps: tuple[SeqGap, ...] = ()

    @property
    def missing(self) -> int:
        return sum(g.size for g in self.gaps)


def advance(state: SeqState, seqs: Iterable[int], now: datetime) -> SeqState:
    """The state after the messages numbered ``seqs`` (in arrival order) have been stored."""
    epoch, last = state.epoch, state.last_seq
    gaps = list(state.gaps)
    for seq in seqs:
        if last is not None and seq + RESTART_BELOW < last:
            epoch, last, gaps = epoch + 1, None, []
        if last is None or seq == last + 1:
            last = seq
        elif seq > last + 1:
            gaps.append(SeqGap(last + 1, seq - 1, now))
            last = seq
            if len(gaps) > MAX_GAPS:
                oldest, second = gaps[0], gaps[1]
                gaps[:2] = [replace(oldest, last=second.last)]
        else:
            _fill(gaps, seq)
    return SeqState(epoch, last, tuple(gaps))


def _fill(gaps: list[SeqGap], seq: int) -> None:
    """Remove ``seq`` from the sorted, disjoint ``gaps`` (nothing when it was not missing)."""
    i = bisect.bisect_right(gaps, seq, key=lambda g: g.first) - 1
    if i < 0 or gaps[i].last < seq:
        return
    gap = gaps[i]
    pieces = []
    if gap.first < seq:
        pieces.append(replace(gap, last=seq - 1))
    if seq < gap.last:
        pieces.append(replace(gap, first=seq + 1))
    gaps[i : i + 1] = pieces
