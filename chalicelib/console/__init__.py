"""The web console: static pages (plain HTML, CSS and ES modules) served by
the app itself, and `GET /api/whoami` so the pages know the caller's role."""
