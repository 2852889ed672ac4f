from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _check_deploy(**variables: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py check --deploy` in a fresh process with production-like variables."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "CHECKOUT_API_KEY", "CACHE_URL", "DEBUG"}
    }
    environment.update({"DEBUG": "false", "ALLOWED_HOSTS": "shop.example.com", **variables})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_reports_missing_secret_key_api_key_and_shared_cache():
    result = _check_deploy()

    assert result.returncode != 0
    assert "trust.E001" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "trust.W001" in result.stderr
    assert "CHECKOUT_API_KEY" in result.stderr
    assert "trust.W002" in result.stderr


def test_check_deploy_is_quiet_about_our_settings_once_they_are_set():
    result = _check_deploy(
        SECRET_KEY="a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
        CHECKOUT_API_KEY="storefront-key",
        CACHE_URL="redis://127.0.0.1:6379/0",
    )

    output = result.stdout + result.stderr
    assert "trust." not in output
    assert result.returncode == 0, output


@pytest.mark.django_db
def test_migrations_match_the_models():
    with override_settings(DEBUG=True):
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
