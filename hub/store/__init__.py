"""Persistence: SQLAlchemy 2 async over SQLite or PostgreSQL, schema owned by Alembic."""
