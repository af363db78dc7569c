"""Helpers shared by the emulator, OpenAPI, end-to-end and CLI tests: raw HTTP to the emulator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDict

from payven_async import Card, Money, PayRequest
from payven_async._converters import encode
from payven_async._json import dumps
from payven_async.testing import PayvenEmulator

APPROVED = "4546711234567894"
INSUFFICIENT = "4546717000000051"
CVV = "987"

GEN_A_JSON = "application/json; ver=1.0"


def card(number: str = APPROVED) -> Card:
    """A card with a future expiry and a CVV that stands out in text."""
    return Card("Test Kullanici", number, "12", "2030", CVV)


def pay_request(number: str = APPROVED, amount: int = 15000, **fields: Any) -> PayRequest:
    """A pay request for ``amount`` kuruş with the given card."""
    return PayRequest(amount=Money(amount, "TRY"), card=card(number), **fields)


def pay_body(number: str = APPROVED, amount: int = 15000, **fields: Any) -> dict[str, Any]:
    """The generation-A camelCase body the client sends for ``pay_request(...)``."""
    body: dict[str, Any] = encode(pay_request(number, amount, **fields), "camel")
    return body


@attrs.define
class Raw:
    """A raw HTTP view of an emulator, for asserting exact wire shapes."""

    emu: PayvenEmulator
    http: aiohttp.ClientSession
    token: str = ""

    async def get_token(self) -> str:
        """A fresh access token from the token route."""
        async with self.http.post(
            f"{self.emu.url}/api/v1/auth/{self.emu.slug}/token",
            json={"client_id": self.emu.client_id, "client_secret": self.emu.client_secret},
        ) as response:
            assert response.status == 200, await response.text()
            self.token = (await response.json())["access_token"]
        return self.token

    def auth(self) -> dict[str, str]:
        """The Authorization header with the current token."""
        return {"Authorization": f"Bearer {self.token}"}

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        content_type: str = "application/json",
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One exchange: status, headers and body bytes."""
        sent = dict(headers or {})
        if auth:
            if not self.token:
                await self.get_token()
            sent.update(self.auth())
        data = raw_body if raw_body is not None else (dumps(body) if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", content_type)
        async with self.http.request(
            method, f"{self.emu.url}{path}", data=data, headers=sent
        ) as response:
            return response.status, CIMultiDict(response.headers), await response.read()

    async def json(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Mapping[str, str], Any]:
        """Like :meth:`request`, with the body parsed as JSON."""
        status, headers, body = await self.request(method, path, **kwargs)
        return status, headers, json.loads(body)

    async def new_session(self, amount: int = 15000, **fields: Any) -> str:
        """Create a checkout session and return its id."""
        status, _, body = await self.json(
            "POST",
            "/api/v1/checkout/sessions",
            body={"amount": amount, "currency": "TRY", **fields},
        )
        assert status == 201, body
        session_id: str = body["session_id"]
        return session_id

    async def pay(
        self, session_id: str, body: Any, *, key: str | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """POST a pay body as the client does (generation-A media type)."""
        headers = {"Idempotency-Key": key} if key is not None else {}
        return await self.request(
            "POST",
            f"/api/v1/checkout/sessions/{session_id}/pay",
            body=body,
            headers=headers,
            content_type=GEN_A_JSON,
        )
