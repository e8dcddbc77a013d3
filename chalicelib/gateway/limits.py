"""Gateway limits the routes' request models need at import (kept apart
from chalicelib.gateway.invoke so that app.py does not load the invoke
machinery: Lambda cold start)."""

MAX_INVOKE_TIMEOUT_MS = 28_000  # under API Gateway's 29 s integration limit
MAX_RETRIES = 5  # timeout_config.retries
MAX_CONFIG_TIMEOUT_MS = 900_000  # a stored connect/read timeout; a call is still capped above
MAX_CACHE_TTL_S = 86_400  # an endpoint's cache_ttl_seconds
MAX_CACHE_ENTRIES = 1_000  # cached answers per endpoint
MAX_CACHE_BODY_BYTES = 1024 * 1024  # the largest body an endpoint may cache
