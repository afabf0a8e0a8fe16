"""Reading a request body within limits: size, time and shape.

The size is counted while the body streams in, so a body with no
Content-Length (chunked) is cut as soon as it passes the route's limit instead
of being held whole first; a declared Content-Length over the limit is refused
before anything is read. A body that trickles in (no chunk for ``idle_seconds``,
or not complete within ``total_seconds``) is cut with 408. Both errors ask the
server to close the connection, since the rest of the body is left unread.

Every way a malformed body can fail to parse becomes a 400 with Mastodon's
error body, never an unhandled exception (and so never a logged traceback).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from roost.errors import BadRequest, PayloadTooLarge, RequestTimeout
from roost.settings import Settings

PARSE_ERROR = "Error occurred while parsing request parameters"
# The rest of the body stays unread: the connection cannot be reused for another request.
_CLOSE = {"Connection": "close"}
# A '%' not followed by two hex digits (Rack refuses these with 400; unquote would keep them).
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    max_fields: int
    max_files: int
    idle_seconds: float
    total_seconds: float

    @classmethod
    def for_route(cls, settings: Settings, max_bytes: int) -> BodyLimits:
        return cls(max_bytes, settings.max_form_fields, settings.max_form_files,
                   settings.body_idle_seconds, settings.body_timeout_seconds)


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(headers=dict(_CLOSE))


async def chunks(request: Request, limits: BodyLimits) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopping (413) as soon as their total passes the limit and
    (408) when the client is too slow; nothing is buffered here."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limits.max_bytes:
        raise too_large()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.total_seconds
    received = 0
    stream = request.stream()
    try:
        while True:
            try:
                async with asyncio.timeout(min(limits.idle_seconds, deadline - loop.time())):
                    chunk = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise RequestTimeout(headers=dict(_CLOSE)) from None
            except ClientDisconnect:
                # Nobody will read the answer; a 400 keeps it out of the error log.
                raise BadRequest("The client disconnected before sending the whole body") from None
            received += len(chunk)
            if received > limits.max_bytes:
                raise too_large()
            if chunk:
                yield chunk
    finally:
        await stream.aclose()


async def read(request: Request, limits: BodyLimits) -> bytes:
    """The whole body (at most ``limits.max_bytes``), for parsers that need all of it."""
    parts = [chunk async for chunk in chunks(request, limits)]
    return b"".join(parts)


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        # orjson refuses invalid UTF-8 and nesting deeper than 1024 with JSONDecodeError.
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest(PARSE_ERROR) from None
    if not isinstance(parsed, dict):
        raise BadRequest(PARSE_ERROR)
    return parsed


def parse_urlencoded(body: bytes, max_fields: int) -> list[tuple[str, str]]:
    """Pairs of an application/x-www-form-urlencoded body.

    By hand over the standard library rather than starlette's FormParser, which
    decodes the raw bytes as latin-1 and unescapes with errors="replace": a raw
    UTF-8 "é" (curl -d) became "Ã©" and invalid UTF-8 silently became U+FFFD.
    Mastodon (Rack) refuses invalid %-escapes and invalid UTF-8 with 400; so do we.
    """
    if _BAD_PERCENT.search(body):
        raise BadRequest(f"{PARSE_ERROR}: invalid %-encoding")
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                         max_num_fields=max_fields)
    except UnicodeDecodeError:
        raise BadRequest(f"{PARSE_ERROR}: invalid UTF-8") from None
    except ValueError:  # parse_qsl: more than max_num_fields
        raise BadRequest(f"{PARSE_ERROR}: more than {max_fields} fields") from None


class _WholeMultiPartParser(MultiPartParser):
    """starlette's parser, stricter where Rack is: it insists on the closing boundary
    (python-multipart hands back the parts of a body cut short as if it were whole)
    and on text fields in valid UTF-8 (starlette falls back to latin-1, storing mojibake)."""

    complete = False

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                part.data.decode(self._charset)
            except UnicodeDecodeError:
                raise MultiPartException(f"Invalid {self._charset} in field {part.field_name!r}.") from None
        super().on_part_end()

    def on_end(self) -> None:
        self.complete = True


async def parse_multipart(request: Request, limits: BodyLimits) -> list[tuple[str, str]]:
    """The text fields of a multipart/form-data body, parsed as it streams in.

    starlette's parser enforces the field and file counts; file parts (no route
    takes one yet) spool to a temporary file and are closed and dropped here, as
    Mastodon ignores parameters a route does not take. Everything it refuses
    (no boundary, a part without a name, a broken part header, too many fields
    or files) is a MultiPartException: a 400, as is a body cut short."""
    parser = _WholeMultiPartParser(request.headers, chunks(request, limits),
                                   max_files=limits.max_files, max_fields=limits.max_fields)
    try:
        form: FormData = await parser.parse()
        if not parser.complete:
            await form.close()
            raise BadRequest(f"{PARSE_ERROR}: the multipart body ends before its closing boundary")
    except MultiPartException as exc:
        raise BadRequest(f"{PARSE_ERROR}: {exc.message}") from None
    except ValueError:
        # starlette looks up the Content-Type's charset with codecs.lookup, which
        # raises ValueError (not the LookupError it catches) for e.g. charset="\0".
        raise BadRequest(f"{PARSE_ERROR}: invalid Content-Type") from None
    fields = []
    for key, item in form.multi_items():
        if isinstance(item, UploadFile):
            await item.close()
        else:
            fields.append((key, item))
    return fields
