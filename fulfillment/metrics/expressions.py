"""
Database expressions the computations aggregate with, written once for
PostgreSQL and once for SQLite, so that no task row has to reach Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import (
    Aggregate,
    CharField,
    Expression,
    F,
    FloatField,
    Func,
    Value,
)
from django.db.models.functions import Coalesce, Lower, NullIf, Replace, Trim

UNKNOWN_SKU = "unknown-sku"


class MinutesBetween(Func):
    """Minutes from `start` to `end` as a float (negative when `end` is earlier)."""

    arity = 2
    output_field = FloatField()

    def __init__(self, end: Expression | str, start: Expression | str, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return self.as_sql(
            compiler,
            connection,
            # date_part() answers in double precision; EXTRACT() computes in
            # numeric on PostgreSQL 14+, several times slower over many rows.
            template="(date_part('epoch', %(expressions)s) / 60.0)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        sql = f"((julianday({end_sql}) - julianday({start_sql})) * 1440.0)"
        return sql, [*end_params, *start_params]


class JSONNumber(Func):
    """
    The value under `key` of a JSON column when it is a JSON number, else NULL.

    Strings ("9"), booleans and nulls are not numbers, whatever they look like.
    """

    output_field = FloatField()

    def __init__(self, field: str, key: str, **extra: Any) -> None:
        self.key = key
        super().__init__(F(field), **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        field_sql, params = compiler.compile(self.get_source_expressions()[0])
        sql = (
            f"CASE WHEN jsonb_typeof({field_sql} -> %s) = 'number' "
            f"THEN ({field_sql} ->> %s)::double precision END"
        )
        return sql, [*params, self.key, *params, self.key]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        field_sql, params = compiler.compile(self.get_source_expressions()[0])
        path = f'$."{self.key}"'
        sql = (
            f"CASE WHEN json_type({field_sql}, %s) IN ('integer', 'real') "
            f"THEN CAST(json_extract({field_sql}, %s) AS REAL) END"
        )
        return sql, [*params, path, *params, path]


class Percentile(Aggregate):
    """
    The `fraction` percentile of an expression, by linear interpolation between
    the closest ranks: PostgreSQL's `percentile_cont`, and on SQLite the
    aggregate of the same name that `fulfillment.apps` registers.
    """

    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression: Expression | str, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must lie in [0, 1], not {fraction!r}")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        expression_sql, params = compiler.compile(self.get_source_expressions()[0])
        sql = f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY {expression_sql})"
        return sql, params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        expression_sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"{SQLITE_PERCENTILE_FUNCTION}({expression_sql}, {self.fraction!r})", params


SQLITE_PERCENTILE_FUNCTION = "trust_percentile_cont"


def interpolated_percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """
    Return the `fraction` percentile of sorted values, interpolating linearly
    between the closest ranks (for 12, 24, 48, 96: p50 is 36, p90 is 81.6).
    """
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    lower = int(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


class SQLitePercentile:
    """SQLite aggregate behind `Percentile` (SQLite has no percentile_cont of its own)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        self.values.sort()
        return interpolated_percentile(self.values, self.fraction)


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Register the SQLite aggregates the computations need (connection_created)."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE_FUNCTION, 2, SQLitePercentile)


def normalised_sku(text: Expression) -> Expression:
    """Trim, lower-case and hyphenate spaces; NULL when nothing is left."""
    return NullIf(Replace(Lower(Trim(text)), Value(" "), Value("-")), Value(""))


def task_sku() -> Expression:
    """A task's SKU: its product's slug, else its item's title, else `unknown-sku`."""
    return Coalesce(
        NullIf(Lower(Trim("order_item__product__slug")), Value("")),
        normalised_sku(F("order_item__product_title")),
        Value(UNKNOWN_SKU),
        output_field=CharField(),
    )


def normalise_sku_text(text: str | None) -> str:
    """Python twin of the SKU rule, for the few staffing shift rows."""
    # SQL's TRIM() removes spaces only; so does this.
    normalised = (text or "").strip(" ").lower().replace(" ", "-")
    return normalised or UNKNOWN_SKU
