"""
Errors of the storefront API, in the DRF manner: each has a status, a
translated detail and a stable machine code. `trust.api.exception_handlers`
turns them (and the metrics service's errors) into JSON bodies.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status

from fulfillment.metrics.service import MetricUnavailableError, UnknownMetricError


class ApiKeyMissing(exceptions.NotAuthenticated):
    default_detail = _("Send the API key in the X-API-Key header, or log in with a staff account.")
    default_code = "api_key_missing"


class ApiKeyInvalid(exceptions.AuthenticationFailed):
    default_detail = _("The X-API-Key header does not match this deployment's API key.")
    default_code = "api_key_invalid"


class StaffSessionRequired(exceptions.NotAuthenticated):
    default_detail = _(
        "Purging metrics needs a logged-in staff session: this deployment has no API key."
    )
    default_code = "staff_session_required"


class StaffOnly(exceptions.PermissionDenied):
    default_detail = _("This endpoint is open to storefronts and staff users only.")
    default_code = "staff_only"


class ExperienceNotFound(exceptions.NotFound):
    default_detail = _("No experience has this slug in this deployment's environment.")
    default_code = "experience_not_found"


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class MetricUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("A metric is unavailable right now; retry shortly.")
    default_code = "metric_unavailable"
    # DRF's handler turns `wait` into a Retry-After header.
    wait = 5

    def __init__(self, error: MetricUnavailableError) -> None:
        super().__init__(detail=str(error))
        self.metric_id = error.metric_id


class UnknownPurgeMetric(exceptions.ValidationError):
    def __init__(self, error: UnknownMetricError) -> None:
        super().__init__({"metric_id": [str(error)]}, code="unknown_metric")
        self.valid_metric_ids = error.valid_ids
