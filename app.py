"""StepFlow Gateway: the Chalice app. It only declares: blueprints, the HTTP
middleware, SQS handlers and schedules. Domains live in chalicelib/."""
from chalice import Chalice

from chalicelib.keys.routes import bp as keys_bp
from chalicelib.system.routes import bp as system_bp
from chalicelib.web.middleware import http_middleware

app = Chalice(app_name="stepflow-gateway")
app.register_middleware(http_middleware, "http")

app.register_blueprint(system_bp)
app.register_blueprint(keys_bp)
