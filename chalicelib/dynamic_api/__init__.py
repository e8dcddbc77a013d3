"""Dynamic SQL APIs (seed 002): a SQL template plus declared parameters becomes
an HTTP endpoint at /api/dynamic-api/invoke/{name}.

Modules:
  sqltext     lexical checks of SQL text (statements, quotes, comments, first keyword)
  dialects    placeholder style, identifier quoting, LIMIT/OFFSET per database
  engines     the registry of template engines by name (seed 002 TemplateEngineManager)
  binding     the shared compiler: every {{ }} becomes a bind parameter, RenderedSql
  engine_jinja2 / engine_liquid   the two engines
  bounds      bounded template evaluation (string/list sizes, loop iterations)
  checks      save-time checks of a template (variables, sandbox, one statement)
  paging      sorting/paging inputs and the count/page query builders
  params      parameter declarations and conversion of inputs to DataType
  cache       compiled templates cached per definition version
  drivers     pg8000 / PyMySQL sessions: per-transaction read-only + timeout, reset
  connections per-pool connection manager (verify new connections, reset on return)
  trust       pools as a privilege: not the gateway's database, privilege warnings, access
  limits      rows, response bytes and timeout of a synchronous answer
  connstr     no password kept in a connection_string
  executor / service / store / routes / openapi_doc   running, saving, HTTP, OpenAPI
"""
