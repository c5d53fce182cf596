"""Ids: prefixed, fixed length, unique and in creation order (pagination relies on it)."""

import re

from langganan.kit import ids


def test_ids_are_unique_sorted_and_well_formed() -> None:
    made = [ids.new_id("inv") for _ in range(20_000)]  # many share a millisecond: the counter orders them
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(re.fullmatch(r"inv_[0-9a-z]{20}", i) for i in made)


def test_base36_digits() -> None:
    assert ids._b36(0, 10) == "0000000000"
    assert ids._b36(35, 4) == "000z"
    assert ids._b36(36, 4) == "0010"
    assert ids._b36(36 ** 10 - 1, 10) == "z" * 10
    assert int(ids._b36(123_456_789_012, 10), 36) == 123_456_789_012


def test_random_part_varies() -> None:
    tails = {ids.new_id("evt")[-6:] for _ in range(200)}
    assert len(tails) > 190  # 31 random bits each: collisions in 200 draws are vanishingly rare
