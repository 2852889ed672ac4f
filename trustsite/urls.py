"""Root URLs: the admin now; the API and preview pages mount here as they land."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
