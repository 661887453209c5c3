"""`tenant_id` on every log record: the tenant of the request in progress, "-" outside any.

Attach the filter to the handlers (a filter on a logger sees only the records logged on that very
logger, not those its children propagate), then use `%(tenant_id)s` in the format:

    handler.addFilter(TenantLogFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(tenant_id)s %(name)s %(message)s"))

The value always comes from the context: a caller's `extra={"tenant_id": ...}` is overwritten, so a
log line cannot be attributed to another tenant than the one whose request wrote it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .tenant import current_tenant

NO_TENANT = "-"


class TenantLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant_id = current_tenant() or NO_TENANT
        return True


def add_tenant_to_logs(handlers: Iterable[logging.Handler] | None = None) -> TenantLogFilter:
    """Add one filter to the given handlers (default: the root logger's); returns it."""
    log_filter = TenantLogFilter()
    for handler in (logging.getLogger().handlers if handlers is None else handlers):
        if not any(isinstance(f, TenantLogFilter) for f in handler.filters):
            handler.addFilter(log_filter)
    return log_filter
