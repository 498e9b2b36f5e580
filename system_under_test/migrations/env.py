"""Alembic's environment: runs the revisions over the connection that `upgrade` lends it.

Alembic executes this file itself, inside its migration context; it is not for importing
(pyproject.toml keeps the doctest collector away from it). Offline mode (`--sql`) is refused:
the schema is only ever migrated live, through system_under_test.migrations.upgrade.
"""

from alembic import context

from system_under_test.migrations import CONNECTION_ATTRIBUTE
from system_under_test.schema import metadata


def run() -> None:
    if context.is_offline_mode():
        raise RuntimeError(
            "offline (--sql) migrations are not supported: "
            "run system_under_test.migrations.upgrade(dsn)"
        )
    connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
    if connection is None:
        raise RuntimeError(
            f"no connection in the Alembic config's attributes[{CONNECTION_ATTRIBUTE!r}]: "
            "run system_under_test.migrations.upgrade(dsn), not the alembic command"
        )
    # The metadata serves autogenerate only (new revisions, the drift test): revisions
    # themselves are frozen and never read schema.py.
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


run()
