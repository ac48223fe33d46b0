"""Command-line interface: ``flask --app orchestrator deploy bpmn/`` and ``serve``."""

from pathlib import Path

import click
from flask import Flask, current_app

from . import deploy as deployment
from .engine import PackageInvalid


@click.command("deploy")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--actor", default="cli", help="who deploys (recorded on the version)")
def deploy_command(path: Path | None, actor: str) -> None:
    """Deploy the pathway package(s) under PATH (default: the configured bpmn folder)."""
    root = path or current_app.config["POLKU_BPMN_DIR"]
    try:
        packages = deployment.packages_in(root, current_app.config["POLKU_FORMS_DIR"])
        results = deployment.deploy(packages, actor)
    except PackageInvalid as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    for r in results:
        state = "deployed as" if r.created else "unchanged at"
        click.echo(f"{r.pathway.key}: {state} version {r.version.number} ({r.version.content_hash[:12]})")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--threads", default=8, show_default=True)
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve Polku with waitress, a production WSGI server."""
    from waitress import serve

    app = current_app._get_current_object()
    if app.config["POLKU_SCHEDULER"] == "serve":
        from . import scheduler

        scheduler.start(app)
    click.echo(f"Polku listening on http://{host}:{port}/ (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    serve(app, host=host, port=port, threads=threads, ident="polku")


def register(app: Flask) -> None:
    app.cli.add_command(deploy_command)
    app.cli.add_command(serve_command)
