"""
drf-spectacular extensions: the API key security scheme, and request
objects that declare their strictness (no extra properties, bounded lists).

Imported by `trust.api.urls`, which registers them before any schema is built.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.plumbing import force_instance
from rest_framework.serializers import ListSerializer

from trust.api.authentication import API_KEY_HEADER


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "trust.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": API_KEY_HEADER,
            "description": "The deployment's CHECKOUT_API_KEY.",
        }


class StrictInputSchema(OpenApiSerializerExtension):
    target_class = "trust.api.serializers.StrictInputSerializer"
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: str) -> str:
        # drf-spectacular appends "Request": ResolveRequestSerializer -> ResolveRequest.
        return type(force_instance(self.target)).__name__.removesuffix("RequestSerializer")

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        for name, field in force_instance(self.target).fields.items():
            # ListSerializer checks its length itself, not through a validator
            # drf-spectacular could read.
            if isinstance(field, ListSerializer) and field.max_length is not None:
                schema["properties"][name]["maxItems"] = field.max_length
        return schema
