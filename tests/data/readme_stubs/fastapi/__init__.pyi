# The few names of FastAPI that README.md's webhook example uses, so that mypy checks the
# example's use of payven without FastAPI installed (tests/test_readme.py).
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

class Request:
    headers: Mapping[str, str]
    async def body(self) -> bytes: ...

class Response:
    def __init__(self, content: Any = None, status_code: int = 200) -> None: ...

class HTTPException(Exception):
    def __init__(self, status_code: int, detail: Any = None) -> None: ...

class BackgroundTasks:
    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...

class FastAPI:
    def __init__(self) -> None: ...
    def post(self, path: str, *, status_code: int | None = None) -> Callable[[_F], _F]: ...
