from django.apps import AppConfig
from django.db.backends.signals import connection_created


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = "Fulfillment"

    def ready(self) -> None:
        from fulfillment.metrics.expressions import register_sqlite_functions

        connection_created.connect(
            register_sqlite_functions, dispatch_uid="fulfillment.sqlite_functions"
        )
