"""roost's error tree. The gateway maps each class to an HTTP status and Mastodon's error body.

    RoostError
     +-- BadRequest (400)          missing or malformed parameter
     +-- Unauthorized (401)        missing, invalid or revoked token
     +-- Forbidden (403)           authenticated but not allowed (scope, ownership)
     +-- NotFound (404)            unknown or invisible record
     +-- Conflict (409)            a uniqueness constraint refused the write (repositories
                                   usually turn it into "already exists" or an idempotent no-op)
     +-- RequestTimeout (408)      the body trickled in too slowly
     +-- PayloadTooLarge (413)
     +-- Unprocessable (422)       validation failed
     +-- RateLimited (429)
     +-- Unavailable (503)         a backend is down (also: storage read-only, damaged, busy)
     +-- InsufficientStorage (507) the data's disk or database is full

    StorageIntegrityError          the data directory is missing, foreign or corrupt files:
                                   roost refuses to start (not an HTTP error)
"""

from __future__ import annotations

from typing import Any


class RoostError(Exception):
    status_code = 500
    default_message = "Internal server error"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)


class BadRequest(RoostError):
    status_code = 400
    default_message = "Bad request"


class Unauthorized(RoostError):
    status_code = 401
    default_message = "The access token is invalid"


class Forbidden(RoostError):
    status_code = 403
    default_message = "This action is not allowed"


class NotFound(RoostError):
    status_code = 404
    default_message = "Record not found"


class Conflict(RoostError):
    """A write broke a uniqueness constraint. ``constraint`` names it for the repository that
    translates it; it is not sent to the client (the body carries only ``extra``)."""

    status_code = 409
    default_message = "The record already exists"

    def __init__(self, message: str | None = None, *, constraint: str | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.constraint = constraint


class PayloadTooLarge(RoostError):
    status_code = 413
    default_message = "Request entity too large"


class Unprocessable(RoostError):
    status_code = 422
    default_message = "Validation failed"


class RateLimited(RoostError):
    status_code = 429
    default_message = "Too many requests"


class Unavailable(RoostError):
    status_code = 503
    default_message = "Service unavailable"


class RequestTimeout(RoostError):
    status_code = 408
    default_message = "The request body was not received in time"


class InsufficientStorage(RoostError):
    status_code = 507
    default_message = "The server is out of storage space"


class StorageIntegrityError(Exception):
    """The data directory does not hold the files its manifest lists, as they were
    written: roost must not start on it. The message is one line naming the file."""
