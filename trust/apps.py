from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = "Checkout trust"

    def ready(self) -> None:
        from trust import checks  # noqa: F401  (registers the deployment checks)
