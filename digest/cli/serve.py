"""``digest serve``: the subscription web app under uvicorn."""

from __future__ import annotations

import typer

from digest.cli.common import console, refuse_busy_port, runtime


def serve_command(
    host: str = typer.Option(None, help="Interface to bind (default DIGEST_WEB__HOST)."),
    port: int = typer.Option(None, help="Port (default DIGEST_WEB__PORT)."),
) -> None:
    """Serve subscribe, confirm, unsubscribe, preferences and feedback pages."""
    import uvicorn

    from digest.web import create_app

    with runtime(ready=True) as rt:
        rt.rank_in_child = True  # pages' picks in a child: the web app stays light
        app = create_app(rt)  # checks the secret: production refuses to start without one
        rt.status.collect()  # migrate and read before the first request: fail here, not there
        bind_host, bind_port = host or rt.settings.web.host, port or rt.settings.web.port
        refuse_busy_port(bind_host, bind_port)
        console.print(f"serving on http://{bind_host}:{bind_port}/ (links point to "
                      f"{rt.settings.base_url})")
        uvicorn.run(app, host=bind_host, port=bind_port, proxy_headers=False,
                    server_header=False, log_level="info")


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""
    app.command("serve")(serve_command)
