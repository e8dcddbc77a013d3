"""Dynamic SQL APIs (seed 002): a SQL template plus declared parameters becomes
an HTTP endpoint at /api/dynamic-api/invoke/{name}.

Modules:
  sqltext     lexical checks of SQL text (statements, quotes, comments, first keyword)
  dialects    placeholder style, identifier quoting, LIMIT/OFFSET per database
  engines     jinja2 / liquid engines compiling every {{ }} into a bind parameter
  checks      save-time checks of a template (variables, sandbox, one statement)
  paging      sorting/paging inputs and the count/page query builders
  params      parameter declarations and conversion of inputs to DataType
  cache       compiled templates cached per definition version
"""
