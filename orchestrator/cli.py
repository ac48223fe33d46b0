"""Command-line interface: ``flask --app orchestrator deploy bpmn/`` and ``serve``."""

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app

from .engine import PackageInvalid
from .tools import deploy, operate


@click.command("deploy")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--actor", default="cli", help="who deploys (recorded on the version)")
def deploy_command(path: Path | None, actor: str) -> None:
    """Deploy the pathway package(s) under PATH (default: the configured bpmn folder)."""
    root = path or current_app.config["POLKU_BPMN_DIR"]
    try:
        packages = deploy.packages_in(root, current_app.config["POLKU_FORMS_DIR"])
        results = deploy.deploy(packages, actor)
    except PackageInvalid as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    from .tools.scenarios import summary

    for r in results:
        state = "deployed as" if r.created else "unchanged at"
        covered = f" — {summary(r.version.coverage)}" if r.version.coverage else ""
        click.echo(f"{r.pathway.key}: {state} version {r.version.number} ({r.version.content_hash[:12]}){covered}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--threads", default=8, show_default=True)
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve Polku with waitress, a production WSGI server."""
    from waitress import serve

    from . import logs, refuse_unsafe_settings

    app = current_app._get_current_object()
    try:
        refuse_unsafe_settings(app)
    except RuntimeError as unsafe:
        raise click.ClickException(str(unsafe)) from None
    logs.configure(app.config["POLKU_LOG_FORMAT"] == "json")
    if app.config["POLKU_SCHEDULER"] == "serve":
        from .core import scheduler

        scheduler.start(app)
    click.echo(f"Polku listening on http://{host}:{port}/ (sign in there; API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    proxy = app.config["POLKU_TRUSTED_PROXY"]
    behind = dict(trusted_proxy=proxy, trusted_proxy_count=1, clear_untrusted_proxy_headers=True,
                  trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                                         "x-forwarded-port"}) if proxy else {}
    serve(app, host=host, port=port, threads=threads, ident="polku", **behind)


@click.command("simulate")
@click.argument("pathway")
@click.option("--days", default=84, show_default=True, help="how long to simulate")
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="a JSON file of scripted answers, delays and messages (see orchestrator/simulate.py)")
def simulate_command(pathway: str, days: int, answers_file: Path | None) -> None:
    """Run PATHWAY (a key under the bpmn folder, or a package folder) on a simulated clock.

    Prints its timeline; the live database is not touched.
    """
    from .tools import simulate

    config = current_app.config
    folder = Path(pathway) if Path(pathway).is_dir() else config["POLKU_BPMN_DIR"] / pathway
    if not (folder.is_dir() and any(folder.glob("*.bpmn"))):
        raise click.UsageError(f"no pathway package '{pathway}': give a key under {config['POLKU_BPMN_DIR']} "
                               "or a folder with .bpmn files")
    zone = config["POLKU_TIME_ZONE"]
    try:
        script = simulate.Script.load(answers_file, zone) if answers_file else simulate.Script(simulate.start_of(zone))
        lines = simulate.run(simulate.app_like(config), folder, config["POLKU_FORMS_DIR"], script, days)
    except (simulate.ScriptInvalid, PackageInvalid) as exc:
        for problem in getattr(exc, "problems", [exc]):
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(f"{folder.name}: {days} days from {script.start.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M} ({zone})")
    click.echo(simulate.format_timeline(lines, script.start, zone))


def register(app: Flask) -> None:
    app.cli.add_command(deploy_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(simulate_command)
    app.cli.add_command(operate.move_instances_command)
    app.cli.add_command(operate.incidents_command)
    app.cli.add_command(operate.webhooks_command)
    app.cli.add_command(operate.outbox_command)
    app.cli.add_command(operate.metrics_command)
