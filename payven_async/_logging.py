"""``PAYVEN_LOG=debug|info``: the ``payven`` logger on a switch, as ``STRIPE_LOG`` is.

Read once, when the first client is built: ``info`` shows retries (with their reason
and delay), 429 pauses and token renewals; ``debug`` adds every HTTP exchange. The
handler writes to stderr and is added once; without the variable (or with any other
value) nothing is configured and the application's own logging setup decides.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_from_env"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_done = False


def configure_from_env() -> None:
    """Apply ``PAYVEN_LOG`` to the ``payven`` logger (the first call only)."""
    global _done
    if _done:
        return
    _done = True
    level = _LEVELS.get(os.environ.get("PAYVEN_LOG", "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger("payven")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
