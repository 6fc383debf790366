"""Domain errors: what a service refuses, with a stable code and a message in the user's language.

HTTP layers map a DomainError to a 4xx answer ({"code", "message", "details"}); a DomainError is never a 500.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A business rule said no. `code` is stable for programs, `message` is for people (translated)."""

    def __init__(self, code: StrEnum, message: str | Promise, **details: Any) -> None:
        super().__init__(str(code))
        self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
