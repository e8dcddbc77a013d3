"""The API catalog: spec loading, Swagger 2.0 conversion, $ref handling,
endpoint extraction (pure code, no database) and the templates / documents /
endpoints service and routes built on it."""
