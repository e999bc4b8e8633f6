"""``python -m sk_eeg2music``: see :mod:`sk_eeg2music.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
