"""The page's seeded randomisation, reproduced in Python.

The page (``_page/app.js``) draws every order from a 32-bit seed: FNV-1a of a
text key (the test seed, the listener code, the trial) feeds a mulberry32
generator, which drives a Fisher-Yates shuffle. These functions do the same
integer arithmetic, so the order any listener saw can be recomputed from the
test's seed and the listener code, and checked against the ``order_shown``
column of the ratings.
"""

_MASK = 0xFFFFFFFF


def fnv1a32(text):
    """32-bit FNV-1a hash of the UTF-8 bytes of ``text``.

    Parameters
    ----------
    text : str
        The key.

    Returns
    -------
    seed : int
        In ``[0, 2**32)``.

    Examples
    --------
    >>> from sk_eeg2music.listening._order import fnv1a32
    >>> fnv1a32("")  # the FNV offset basis
    2166136261
    """
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & _MASK
    return h


def mulberry32(seed):
    """A generator of floats in [0, 1): the page's ``mulberry32``, bit for bit.

    Parameters
    ----------
    seed : int
        32-bit seed.

    Yields
    ------
    value : float
        The next draw.

    Examples
    --------
    >>> from sk_eeg2music.listening._order import mulberry32
    >>> draws = mulberry32(1)
    >>> [round(next(draws), 6) for _ in range(2)]
    [0.627074, 0.002736]
    """
    a = seed & _MASK
    while True:
        a = (a + 0x6D2B79F5) & _MASK
        t = ((a ^ (a >> 15)) * (1 | a)) & _MASK
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _MASK)) & _MASK) ^ t
        yield ((t ^ (t >> 14)) & _MASK) / 4294967296


def seeded_shuffle(items, key):
    """Shuffle a list as the page does for the same key.

    Parameters
    ----------
    items : sequence
        What to shuffle (not modified).
    key : str
        The text key; its FNV-1a hash seeds :func:`mulberry32`.

    Returns
    -------
    shuffled : list
        A new list.

    Examples
    --------
    >>> from sk_eeg2music.listening._order import seeded_shuffle
    >>> seeded_shuffle(["a", "b", "c", "d"], "0|L01|t01") == seeded_shuffle("abcd", "0|L01|t01")
    True
    """
    out = list(items)
    draws = mulberry32(fnv1a32(key))
    for i in range(len(out) - 1, 0, -1):
        j = int(next(draws) * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out


def presentation_order(test, listener):
    """Everything the page randomises for one listener.

    Parameters
    ----------
    test : dict
        The test description (``test.json`` of a test folder, see
        :func:`~sk_eeg2music.listening.make_test`).
    listener : str
        The listener code typed into the page.

    Returns
    -------
    order : dict
        ``"seed"``: the listener's 32-bit seed; ``"mushra"``: trial ids in the
        order shown; ``"clips"``: trial id -> clip ids in the order shown (top
        to bottom); ``"afc"``: 2AFC trial ids in the order shown;
        ``"afc_target"``: 2AFC trial id -> ``"A"`` or ``"B"``, the side of the
        matching original.

    Examples
    --------
    >>> from sk_eeg2music.listening._order import presentation_order
    >>> test = {"seed": 0, "mushra": [{"id": "t01", "clips": [{"id": "c1"}, {"id": "c2"}]}],
    ...         "afc": []}
    >>> order = presentation_order(test, "L01")
    >>> sorted(order["clips"]["t01"])
    ['c1', 'c2']
    """
    base = f"{test['seed']}|{listener}"
    mushra = test.get("mushra", [])
    afc = test.get("afc", [])
    return {
        "seed": fnv1a32(base),
        "mushra": seeded_shuffle([t["id"] for t in mushra], f"{base}|trials"),
        "clips": {
            t["id"]: seeded_shuffle([c["id"] for c in t["clips"]], f"{base}|{t['id']}")
            for t in mushra
        },
        "afc": seeded_shuffle([t["id"] for t in afc], f"{base}|afc"),
        "afc_target": {
            t["id"]: "A" if next(mulberry32(fnv1a32(f"{base}|{t['id']}|side"))) < 0.5 else "B"
            for t in afc
        },
    }
