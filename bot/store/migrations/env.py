"""Alembic environment: migrations run on the connection `Database.upgrade()` hands over."""

from alembic import context

from bot.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `tabot db upgrade`, which supplies the connection.")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
