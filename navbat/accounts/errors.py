"""Error codes of the account services (sign-in security)."""

from enum import StrEnum


class AccountErrorCode(StrEnum):
    WRONG_CODE = "wrong_code"
    TOO_MANY_CODES = "too_many_codes"
    NO_SECOND_FACTOR = "no_second_factor"
    SETUP_EXPIRED = "setup_expired"
