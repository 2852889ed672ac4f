"""Server-rendered pages: the operator preview and the storefront fragment."""

from __future__ import annotations

from django.urls import path

from trust import views

app_name = "trust"

urlpatterns = [
    path("trust-preview/<slug:slug>/", views.experience_preview, name="preview"),
    path("trust/<slug:slug>/", views.storefront_experience, name="storefront"),
]
