"""The API catalog.

Pure code, no database: spec loading (`loader`), Swagger 2.0 conversion
(`swagger2`), `$ref` handling and JSON pointers (`refs`, `problems`), endpoint
extraction (`extract`, `schema_lint`), the whole parse (`spec`).

In PostgreSQL, one module per concept: `templates`, `documents`,
`endpoints`, `audit`, `auth_config` (sealed, masked, origin-bound), sharing
`sql`; `service` re-exports their public API for other domains. `routes`
parses requests; `jobs` registers the catalog job types (app.py imports it)."""
