"""Fairmeet's web layer: the Starlette app, its pages and JSON API, settings and the CLI."""
