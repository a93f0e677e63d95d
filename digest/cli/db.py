"""``digest db upgrade``: apply database migrations (they also run automatically)."""

from __future__ import annotations

import typer

from digest.cli.common import console, runtime

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring the database schema up to the newest migration."""
    from digest.app.database import upgrade_database

    with runtime() as rt:
        revision, where = upgrade_database(rt.settings.database_url)
        console.print(f"database at revision {revision} ({where})", highlight=False,
                      markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group."""
    app.add_typer(db_app, name="db")
