"""The page's seeded randomisation, reproduced in Python (the browser test checks it bit-exact)."""

from sk_eeg2music.listening._order import fnv1a32, mulberry32, presentation_order, seeded_shuffle

TEST = {
    "seed": 0,
    "mushra": [{"id": f"t{k}", "clips": [{"id": f"c{j}"} for j in range(1, 8)]} for k in range(6)],
    "afc": [{"id": f"x{k}"} for k in range(10)],
}


def test_fnv1a32_reference_values():
    # Published FNV-1a 32-bit test vectors.
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_mulberry32_matches_javascript():
    # Values printed by the JavaScript mulberry32 of app.js under Node for seed 1.
    draws = mulberry32(1)
    assert [next(draws) for _ in range(2)] == [0.6270739405881613, 0.002735721180215478]
    values = [next(draws) for _ in range(1000)]
    assert all(0 <= v < 1 for v in values)


def test_seeded_shuffle_is_a_seeded_permutation():
    items = list(range(20))
    a = seeded_shuffle(items, "0|L01|t1")
    assert sorted(a) == items and a != items
    assert seeded_shuffle(items, "0|L01|t1") == a
    assert seeded_shuffle(items, "0|L02|t1") != a
    assert items == list(range(20))  # input untouched


def test_presentation_order_per_listener_and_trial():
    one, again, other = (presentation_order(TEST, code) for code in ("L01", "L01", "L02"))
    assert one == again
    assert one["seed"] == fnv1a32("0|L01")
    assert sorted(one["mushra"]) == [t["id"] for t in TEST["mushra"]]
    assert sorted(one["afc"]) == [t["id"] for t in TEST["afc"]]
    # Per trial: the clip orders differ between trials of one listener...
    assert len({tuple(v) for v in one["clips"].values()}) > 1
    # ... and between listeners; the test seed changes everything.
    assert one["clips"] != other["clips"]
    assert presentation_order({**TEST, "seed": 1}, "L01")["clips"] != one["clips"]
    assert set(one["afc_target"].values()) == {"A", "B"}
