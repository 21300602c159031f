"""Missing gateway messages as seq ranges: worked cases and the law that, whatever the order of
arrival, the gaps are exactly the numbers never seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.core.domain.sequence import MAX_GAPS, RESTART_BELOW, SeqGap, SeqState, advance

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _ranges(state: SeqState) -> list[tuple[int, int]]:
    return [(g.first, g.last) for g in state.gaps]


def test_the_first_number_seen_opens_no_gap() -> None:
    state = advance(SeqState(), [42, 43], T0)
    assert (state.last_seq, state.gaps) == (43, ())


def test_a_jump_opens_a_gap_and_late_arrivals_fill_and_split_it() -> None:
    state = advance(SeqState(), [1, 2, 7, 8], T0)
    assert _ranges(state) == [(3, 6)]
    state = advance(state, [5], T0 + timedelta(seconds=1))
    assert _ranges(state) == [(3, 4), (6, 6)]
    assert all(g.opened_at == T0 for g in state.gaps)  # a split keeps when it went missing
    state = advance(state, [3, 4, 6, 6, 2], T0)
    assert (state.gaps, state.last_seq, state.missing) == ((), 8, 0)


def test_a_counter_restart_starts_a_new_epoch_without_the_old_gaps() -> None:
    state = advance(SeqState(), [5000, 5003], T0)
    assert _ranges(state) == [(5001, 5002)]
    state = advance(state, [1, 2, 4], T0)
    assert (state.epoch, state.last_seq, _ranges(state)) == (1, 4, [(3, 3)])


def test_a_number_just_below_the_restart_threshold_is_a_late_arrival() -> None:
    state = advance(SeqState(), [RESTART_BELOW + 10], T0)
    state = advance(state, [10], T0)
    assert (state.epoch, state.last_seq) == (0, RESTART_BELOW + 10)


def test_resend_bookkeeping_survives_a_split() -> None:
    asked = T0 + timedelta(minutes=5)
    state = SeqState(0, 10, (SeqGap(3, 8, T0, resend_requests=2, last_request_at=asked),))
    state = advance(state, [5], T0)
    assert [(g.first, g.last, g.resend_requests, g.last_request_at) for g in state.gaps] == [
        (3, 4, 2, asked),
        (6, 8, 2, asked),
    ]


def test_gaps_are_bounded_by_merging_the_oldest() -> None:
    every_other = list(range(0, 2 * (MAX_GAPS + 5), 2))
    state = advance(SeqState(), every_other, T0)
    assert len(state.gaps) == MAX_GAPS
    assert state.gaps[0].first == 1  # merged ranges still cover every missing number
    assert state.missing >= MAX_GAPS + 4


@given(
    st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=200),
    st.randoms(use_true_random=False),
    st.integers(min_value=1, max_value=20),
)
def test_whatever_the_order_the_gaps_are_exactly_the_numbers_never_seen(
    seen: list[int], rnd: object, batch: int
) -> None:
    arrivals = list(seen)
    rnd.shuffle(arrivals)  # type: ignore[attr-defined]
    first, top = arrivals[0], max(arrivals)
    if top - first > RESTART_BELOW:  # stay within one epoch
        return
    state = SeqState()
    for i in range(0, len(arrivals), batch):
        state = advance(state, arrivals[i : i + batch], T0)
    missing = {n for g in state.gaps for n in range(g.first, g.last + 1)}
    assert missing == set(range(first, top + 1)) - set(seen)
    assert state.last_seq == top
    firsts = [g.first for g in state.gaps]
    assert firsts == sorted(firsts)
