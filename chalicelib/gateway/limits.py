"""Gateway limits the routes' request models need at import (kept apart
from chalicelib.gateway.invoke so that app.py does not load the invoke
machinery: Lambda cold start)."""

MAX_INVOKE_TIMEOUT_MS = 28_000  # under API Gateway's 29 s integration limit
MAX_RETRIES = 5  # timeout_config.retries
MAX_CONFIG_TIMEOUT_MS = 900_000  # a stored connect/read timeout; a call is still capped above
