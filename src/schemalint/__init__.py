"""schemalint: a PostgreSQL migration linter that knows real lock and rewrite behaviour."""

__version__ = "0.1.0"
