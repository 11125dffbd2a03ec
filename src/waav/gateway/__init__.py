"""The waav gateway: an ASGI app speaking the upstream WaaV /ws, /realtime and REST protocol.

``create_app(config)`` returns the app (mount it in Starlette/FastAPI, or serve it with any
ASGI server); :class:`GatewayServer` runs it with uvicorn (``waav serve``).
"""

from waav.gateway.app import GatewayApp, create_app, gateway_state
from waav.gateway.metrics import Metrics
from waav.gateway.server import GatewayServer

__all__ = ["GatewayApp", "GatewayServer", "Metrics", "create_app", "gateway_state"]
