from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin login with a generated password, once, and print it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin", help="Login name (default: admin).")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(
                f"The admin login “{username}” exists already. "
                f"Reset its password with: python manage.py changepassword {username}"
            )
            return

        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Admin login created. Username: {username}  Password: {password}")
        )
        self.stdout.write("This password is shown only now; keep it somewhere safe.")
