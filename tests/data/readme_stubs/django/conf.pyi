from typing import Any

class _Settings:
    def __getattr__(self, name: str) -> Any: ...

settings: _Settings
