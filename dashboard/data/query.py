"""The query vocabulary that code outside the data layer may use: filters, orders, the
caller a call runs as, pages of rows, the `Backend` handed to data functions, and the
database error they raise.

They are defined with the protocol in `dashboard.backends.base`; pages, components and
routes import them from here, so none of them imports `dashboard.backends` (the
import-linter contracts in pyproject.toml hold that).
"""

from __future__ import annotations

from dashboard.backends.base import (
    ANON,
    SERVICE,
    Backend,
    BackendError,
    Caller,
    Filter,
    FilterOp,
    Order,
    Page,
)

__all__ = [
    "ANON",
    "SERVICE",
    "Backend",
    "BackendError",
    "Caller",
    "Filter",
    "FilterOp",
    "Order",
    "Page",
]
