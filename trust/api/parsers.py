"""The API's one parser: JSON in UTF-8, bounded in size and nesting."""

from __future__ import annotations

import json
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from trust.api.exceptions import RequestBodyTooLarge

# Fifty metric requests with 100-character ids fit in about 7 KiB.
MAX_BODY_BYTES = 64 * 1024


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """
    Parse a JSON body, refusing what the standard parser lets through.

    The body is read up to `max_body_bytes`, decoded as JSON text (UTF-8, or
    UTF-16/32 with their byte order) whatever charset the header claims, and
    NaN, Infinity or nesting deep enough to exhaust the recursion limit are
    parse errors rather than server errors.
    """

    max_body_bytes = MAX_BODY_BYTES

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(self.max_body_bytes + 1)
        if len(raw) > self.max_body_bytes:
            raise RequestBodyTooLarge(
                f"The request body is larger than {self.max_body_bytes} bytes."
            )
        try:
            return json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise ParseError(f"JSON parse error: {error}", code="parse_error") from error
