"""Sealing a token for a shared store: encrypted and authenticated, with the stdlib only.

A token published to Redis must not make a dump of Redis a list of working
credentials. So what is stored is sealed with keys derived from the client secret
(which is never stored): HMAC-SHA256 as a pseudo-random function in counter mode for
the keystream (a fresh 16-byte nonce each time), then HMAC-SHA256 over the nonce and
the ciphertext (encrypt-then-MAC), so a value that was altered, or sealed under other
credentials, is refused rather than used. Every process of a fleet holds the secret,
so each can open what another sealed; someone with only the dump cannot.

Only :mod:`hashlib`/:mod:`hmac`/:mod:`os` are used, so the ``redis`` extra adds no
cryptography dependency. A fingerprint (a keyed hash) names a token without revealing
it, so a store can compare-and-delete "the token that was refused" by fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["Sealer"]

_VERSION = b"s1"
_NONCE = 16
_TAG = 32


class Sealer:
    """Seals and opens values with keys derived from one client's secret and identity."""

    def __init__(self, secret: str, context: str) -> None:
        root = secret.encode("utf-8")
        info = context.encode("utf-8")
        self._enc = hmac.new(
            root, b"payven token store/encrypt\x00" + info, hashlib.sha256
        ).digest()
        self._mac = hmac.new(root, b"payven token store/mac\x00" + info, hashlib.sha256).digest()
        #: A name for these credentials that reveals neither the id nor the secret.
        self.name = hmac.new(
            root, b"payven token store/name\x00" + info, hashlib.sha256
        ).hexdigest()[:24]

    def __repr__(self) -> str:
        return "<Sealer>"

    def fingerprint(self, value: str) -> str:
        """A keyed hash naming ``value`` (a token) without revealing it."""
        return hmac.new(self._mac, b"fp\x00" + value.encode("utf-8"), hashlib.sha256).hexdigest()[
            :32
        ]

    def seal(self, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted and authenticated (version, nonce, ciphertext, tag)."""
        nonce = os.urandom(_NONCE)
        body = _VERSION + nonce + _xor(plaintext, self._keystream(nonce, len(plaintext)))
        return body + hmac.new(self._mac, body, hashlib.sha256).digest()

    def open(self, sealed: bytes) -> bytes | None:
        """The plaintext of a sealed value, or None when it was not sealed by these keys."""
        if len(sealed) < len(_VERSION) + _NONCE + _TAG or not sealed.startswith(_VERSION):
            return None
        body, tag = sealed[:-_TAG], sealed[-_TAG:]
        if not hmac.compare_digest(tag, hmac.new(self._mac, body, hashlib.sha256).digest()):
            return None
        nonce = body[len(_VERSION) : len(_VERSION) + _NONCE]
        ciphertext = body[len(_VERSION) + _NONCE :]
        return _xor(ciphertext, self._keystream(nonce, len(ciphertext)))

    def _keystream(self, nonce: bytes, size: int) -> bytes:
        blocks = (size + 31) // 32
        return b"".join(
            hmac.new(self._enc, nonce + n.to_bytes(4, "big"), hashlib.sha256).digest()
            for n in range(blocks)
        )[:size]


def _xor(data: bytes, keystream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(
        len(data), "big"
    )
