from collections.abc import Mapping
from typing import Any

class HttpRequest:
    body: bytes
    headers: Mapping[str, str]
    META: dict[str, Any]

class HttpResponse:
    def __init__(self, content: bytes | str = b"", status: int | None = None) -> None: ...

class HttpResponseBadRequest(HttpResponse): ...
