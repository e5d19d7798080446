"""The order-flow Function App: one DFApp that registers each concern's blueprint.

Telemetry is configured before any function can run, as the settings ask (it stays off
unless one is set: see ``telemetry``).
"""

import azure.durable_functions as df
import azure.functions as func

import telemetry
from activities.backend_action import bp as backend_action_bp
from http_triggers.approval import bp as approval_bp
from http_triggers.openapi import bp as openapi_bp
from http_triggers.order_list import bp as order_list_bp
from http_triggers.orders import bp as orders_bp
from http_triggers.staff import bp as staff_bp
from orchestrators.order import bp as order_orchestrator_bp

telemetry.configure()
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (orders_bp, approval_bp, order_list_bp, staff_bp, openapi_bp,
                  order_orchestrator_bp, backend_action_bp):
    app.register_functions(blueprint)
