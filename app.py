"""StepFlow Gateway: the Chalice app. It only declares: blueprints, the HTTP
middleware, SQS handlers and schedules. Domains live in chalicelib/."""
import chalicelib.catalog.jobs  # noqa: F401 - registers the catalog job types
import chalicelib.schedules.jobs  # noqa: F401 - registers the health-check job type
from chalicelib.catalog.routes import bp as catalog_bp
from chalicelib.compare.cassandra.routes import bp as cassandra_bp
from chalicelib.compare.fullrun.routes import bp as compare_runs_bp
from chalicelib.compare.routes import bp as compare_bp
from chalicelib.console.routes import bp as console_bp
from chalicelib.dynamic_api.routes import bp as dynamic_api_bp
from chalicelib.gateway.routes import bp as gateway_bp
from chalicelib.gateway.stats_routes import bp as gateway_stats_bp
from chalicelib.jobs.lambdas import bp as jobs_lambdas_bp
from chalicelib.jobs.routes import bp as jobs_bp
from chalicelib.keys.routes import bp as keys_bp
from chalicelib.schedules.lambdas import bp as schedules_bp
from chalicelib.schedules.routes import bp as health_checks_bp
from chalicelib.system.routes import bp as system_bp
from chalicelib.web.lambda_app import StepflowApp
from chalicelib.web.middleware import http_middleware

app = StepflowApp(app_name="stepflow-gateway")
app.register_middleware(http_middleware, "http")

app.register_blueprint(system_bp)
app.register_blueprint(keys_bp)
app.register_blueprint(catalog_bp)
app.register_blueprint(console_bp)
app.register_blueprint(gateway_bp)
app.register_blueprint(gateway_stats_bp)
app.register_blueprint(cassandra_bp)
app.register_blueprint(compare_bp)
app.register_blueprint(compare_runs_bp)
app.register_blueprint(dynamic_api_bp)
app.register_blueprint(jobs_bp)
app.register_blueprint(health_checks_bp)
# SQS consumers jobs_critical/default/low, and every schedule.
app.register_blueprint(jobs_lambdas_bp)
app.register_blueprint(schedules_bp)
