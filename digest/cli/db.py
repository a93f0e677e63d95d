"""``digest db upgrade``: apply database migrations (they also run automatically)."""

from __future__ import annotations

import typer

from digest.cli.common import console, runtime
from digest.store.db import create_store_engine, upgrade

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring the database schema up to the newest migration."""
    with runtime() as rt:
        engine = create_store_engine(rt.settings.database_url)
        try:
            revision = upgrade(engine)
        finally:
            engine.dispose()
        console.print(f"database at revision {revision} ({engine.url.render_as_string()})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
