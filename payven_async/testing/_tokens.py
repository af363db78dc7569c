"""JWT-shaped access tokens and rotating refresh tokens, as the identity service issues them.

Access tokens are real HS256 JWTs (signed with a key that lives only in this
emulator), carrying the claims the docs list (``tenant_id``, ``merchant_id``,
``plan_code``, ``rate_limit``, ...) and an ``exp`` read from the emulator's clock.
Refresh tokens are opaque, single use, and rotate on every refresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from ._clock import Clock

__all__ = ["TokenError", "TokenIssuer"]


class TokenError(Exception):
    """A token or credential was refused; ``code`` is the API's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues, refreshes and verifies tokens for one set of client credentials."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        slug: str,
        issuer_url: str,
        tenant_id: str,
        merchant_id: str,
        access_ttl: int,
        refresh_ttl: int,
        clock: Clock,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.slug = slug
        self.issuer_url = issuer_url
        self.tenant_id = tenant_id
        self.merchant_id = merchant_id
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._refresh_tokens: dict[str, float] = {}
        #: How many tokens were issued by client credentials and by refresh.
        self.issued = 0
        self.refreshed = 0

    def __repr__(self) -> str:
        return f"<TokenIssuer client_id={self.client_id!r} access_ttl={self.access_ttl}>"

    def check_credentials(self, client_id: Any, client_secret: Any) -> bool:
        """True when the pair matches (compared in constant time)."""
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            return False
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        return id_ok and secret_ok

    def issue(self) -> dict[str, Any]:
        """A fresh token pair, as ``KeycloakTokenResult``."""
        self.issued += 1
        return self._pair()

    def refresh(self, refresh_token: Any) -> dict[str, Any]:
        """Rotate: the old refresh token dies, a new pair is returned."""
        expires_at = (
            self._refresh_tokens.pop(refresh_token, None)
            if isinstance(refresh_token, str)
            else None
        )
        if expires_at is None:
            raise TokenError("invalid_refresh_token", "Refresh token geçersiz veya kullanılmış.")
        if self._clock.now() >= expires_at:
            raise TokenError("invalid_refresh_token", "Refresh token süresi dolmuş.")
        self.refreshed += 1
        return self._pair()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; a :class:`TokenError` otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_token", "Access token geçersiz.")
        signed = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = _b64(hmac.new(self._key, signed, hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
            raise TokenError("invalid_token", "Access token geçersiz.")
        claims: dict[str, Any] = json.loads(_unb64(parts[1]))
        if self._clock.now() >= claims["exp"]:
            raise TokenError("token_expired", "Access token süresi dolmuş; yenileyin.")
        return claims

    def revoke_all(self) -> None:
        """Invalidate every token issued so far (a new signing key, no refresh tokens)."""
        self._key = secrets.token_bytes(32)
        self._refresh_tokens.clear()

    def _pair(self) -> dict[str, Any]:
        now = self._clock.now()
        refresh_token = secrets.token_urlsafe(32)
        self._refresh_tokens[refresh_token] = now + self.refresh_ttl
        return {
            "access_token": self._jwt(now),
            "refresh_token": refresh_token,
            "expires_in": self.access_ttl,
            "refresh_expires_in": self.refresh_ttl,
            "token_type": "Bearer",
            "scope": "openid profile email",
        }

    def _jwt(self, now: float) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": "payven-emulator"}
        claims = {
            "iss": self.issuer_url,
            "sub": self.client_id,
            "azp": self.client_id,
            "aud": "payven",
            "iat": int(now),
            "exp": int(now) + self.access_ttl,
            "jti": str(uuid.uuid4()),
            "typ": "Bearer",
            "scope": "openid profile email",
            "tenant_id": self.tenant_id,
            "tenant_slug": self.slug,
            "merchant_id": self.merchant_id,
            "plan_code": "sandbox",
        }
        head = _b64(json.dumps(header, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"
