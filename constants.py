"""Names the host binds by: functions, activities, events and settings, in one place.

Every module that starts, calls or raises one of these uses the constant, so a rename is a
one-line change and a typo is an import error rather than a silent "orchestrator not found".
"""

from typing import Final

# Functions the host indexes (their names appear in routes, logs and the task hub).
ORDER_ORCHESTRATOR: Final = "OrderOrchestrator"
BACKEND_ACTION: Final = "BackendAction"
PLACE_ORDER_FUNCTION: Final = "PlaceOrder"
ORDER_STATUS_FUNCTION: Final = "OrderStatus"
APPROVE_FUNCTION: Final = "ApproveOrder"
LIST_ORDERS_FUNCTION: Final = "ListOrders"
STAFF_CONSOLE_FUNCTION: Final = "StaffConsole"
OPENAPI_FUNCTION: Final = "OpenApiDocument"

# The external event staff raise through the approve route.
APPROVAL_EVENT: Final = "Approval"

# HTTP routes below the host's `/api` prefix.
ORDERS_ROUTE: Final = "orders"
ORDER_STATUS_ROUTE: Final = "orders/{orderId}"
APPROVE_ROUTE: Final = "orders/{orderId}/approve"
# The staff console's page (no asset) and the files it loads (``staff/console.js``).
STAFF_CONSOLE_ROUTE: Final = "staff/{asset?}"
OPENAPI_ROUTE: Final = "openapi.json"

# Application settings (environment variables / local.settings.json Values).
SETTING_APPROVAL_TIMEOUT: Final = "APPROVAL_TIMEOUT_SECONDS"
SETTING_BACKEND_DELAY: Final = "BACKEND_ACTION_DELAY_SECONDS"
SETTING_PUSH_MAX_ATTEMPTS: Final = "PUSH_MAX_ATTEMPTS"
SETTING_PUSH_FIRST_RETRY_MS: Final = "PUSH_FIRST_RETRY_MILLISECONDS"

DEFAULT_APPROVAL_TIMEOUT_SECONDS: Final = 1800
DEFAULT_BACKEND_DELAY_SECONDS: Final = 2.0
DEFAULT_PUSH_MAX_ATTEMPTS: Final = 4
DEFAULT_PUSH_FIRST_RETRY_MS: Final = 5000

# Request limits of the public routes.
MAX_ORDER_BODY_BYTES: Final = 16 * 1024
MAX_APPROVAL_BODY_BYTES: Final = 4 * 1024
# The staff list route's pages: ``pageSize`` at most this, this many without it.
MAX_LIST_PAGE_SIZE: Final = 100
DEFAULT_LIST_PAGE_SIZE: Final = 50
