"""
The API's exception handler: every error body is a JSON object with a human
`detail` and a machine `code`. A 400 also lists each problem in `errors`, one
entry per field, named by its path in the request body (`metrics[2].metric_id`,
or `body` when the body as a whole is wrong).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from fulfillment.metrics.service import MetricUnavailableError, UnknownMetricError
from trust.api.exceptions import (
    MetricUnavailable,
    RequestBodyTooLarge,
    UnknownPurgeMetric,
)

logger = logging.getLogger(__name__)

BODY_FIELD = "body"
NON_FIELD_KEYS = ("non_field_errors",)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """
    Answer every API error with a JSON body holding `detail` and `code`.

    Service errors are translated first: an unknown purge id becomes a 400 on
    `metric_id`, an unavailable metric a 503. Anything else is left to
    Django: a lost database to `DatabaseUnavailableMiddleware` (a JSON 503),
    the rest to its server-error handling.
    """
    exc = _translated(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        response.data = _validation_body(exc)
    else:
        response.data = {"detail": str(exc.detail), "code": _code_of(exc)}
    if isinstance(exc, MetricUnavailable):
        response.data["metric_id"] = exc.metric_id
    _log_refusal(response, context)
    return response


def _log_refusal(response: Response, context: dict[str, Any]) -> None:
    """Log each refused request once, with its status, code and the fields at fault."""
    request = context.get("request")
    fields = sorted({error["field"] for error in response.data.get("errors", [])})
    level = logging.INFO if response.status_code in (400, 404, 405) else logging.WARNING
    logger.log(
        level,
        "api request refused status=%d code=%s method=%s path=%s fields=%s",
        response.status_code,
        response.data.get("code"),
        getattr(request, "method", "-"),
        getattr(request, "path", "-"),
        fields,
    )


def _translated(exc: Exception) -> Exception:
    if isinstance(exc, UnknownMetricError):
        return UnknownPurgeMetric(exc)
    if isinstance(exc, MetricUnavailableError):
        return MetricUnavailable(exc)
    if isinstance(exc, RequestDataTooBig):
        return RequestBodyTooLarge()
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _validation_body(exc: exceptions.ValidationError | exceptions.ParseError) -> dict[str, Any]:
    """Return a 400's body: a summary, a code, and one entry per field at fault."""
    errors = [
        {"field": field, "message": str(detail), "code": detail.code}
        for field, detail in _flatten(exc.detail, path="")
    ]
    if not errors:
        errors = [{"field": BODY_FIELD, "message": "The request is invalid.", "code": "invalid"}]
    first = errors[0]
    body: dict[str, Any] = {
        "detail": f"Invalid request: {first['field']}: {first['message']}",
        "code": "parse_error" if isinstance(exc, exceptions.ParseError) else "invalid",
        "errors": errors,
    }
    if isinstance(exc, UnknownPurgeMetric):
        body["code"] = "unknown_metric"
        body["valid_metric_ids"] = exc.valid_metric_ids
    return body


def _flatten(detail: Any, *, path: str) -> Iterator[tuple[str, exceptions.ErrorDetail]]:
    """Yield (field path, error) pairs from DRF's nested error structure."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            yield from _flatten(value, path=_child_path(path, key))
    elif isinstance(detail, list):
        # Several errors of the same field.
        for value in detail:
            yield from _flatten(value, path=path)
    else:
        yield path or BODY_FIELD, detail


def _child_path(path: str, key: str | int) -> str:
    # List fields key their items' errors by index (LIST_SERIALIZER_ERRORS_AS_DICT).
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key in NON_FIELD_KEYS:
        return path
    return f"{path}.{key}" if path else key
