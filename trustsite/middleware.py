"""Answer requests honestly when the database cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    """
    Turn a lost database connection into a 503 that says so, instead of a 500.

    API paths get a JSON body; pages get the `503.html` template. Other errors
    are left to Django's handlers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "database unavailable method=%s path=%s error=%s",
            request.method,
            request.path,
            type(exception).__name__,
        )
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {
                    "detail": "The database is unavailable; try again shortly.",
                    "code": "database_unavailable",
                },
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
