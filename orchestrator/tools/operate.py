"""Operators' commands: ``flask move-instances``, ``flask incidents``, ``flask webhooks``, ``flask outbox`` and
``flask metrics``.

Moving is a dry run unless ``--run`` is given: an operator reads first what would happen to each instance.
"""

import click

from ..core import incidents, migrating, outbox, queries
from ..core.refusal import Refused
from ..metrics import rollups
from ..reach import webhooks


@click.command("move-instances")
@click.argument("pathway")
@click.option("--from", "from_version", type=int, required=True, help="the version the instances are on")
@click.option("--to", "to_version", type=int, required=True, help="the version to move them to")
@click.option("--instance", "only", type=int, multiple=True, help="only this instance (repeatable)")
@click.option("--run", is_flag=True, help="move them; without it, only report what would happen")
@click.option("--actor", default="cli", help="who moves them (recorded in each instance's history)")
def move_instances_command(pathway: str, from_version: int, to_version: int, only: tuple[int, ...], run: bool,
                           actor: str) -> None:
    """Move PATHWAY's active instances from one version to another (a dry run unless --run)."""
    try:
        source = queries.version_or_404(pathway, from_version)
        target = queries.version_or_404(pathway, to_version)
        report = migrating.run(source, target, actor, dry_run=not run, only=list(only) or None)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    for outcome in report:
        click.echo(_line(outcome, run))
    movable = sum(o.possible for o in report)
    verb = "moved" if run else "can move"
    click.echo(f"{pathway} {from_version} -> {to_version}: {movable} of {len(report)} {verb}"
               + ("" if run else " (a dry run: add --run to move them)"))


def _line(outcome: migrating.Outcome, run: bool) -> str:
    where = ", ".join(outcome.standing) or "-"
    if not outcome.possible:
        return f"  {outcome.instance_id:>8}  stays     at {where}: {outcome.reason}"
    news = f"; changed here: {', '.join(outcome.changed)}" if outcome.changed else ""
    ahead = f"; new ahead: {', '.join(outcome.added)}" if outcome.added else ""
    return f"  {outcome.instance_id:>8}  {'moved' if run else 'moves':<9} at {where}{news}{ahead}"


@click.command("incidents")
@click.option("--pathway", help="only this pathway's")
def incidents_command(pathway: str | None) -> None:
    """List the instances standing on an incident, latest first."""
    found, total = incidents.incidents(pathway, 0, 200)
    for incident in found:
        at = incident.at.isoformat(timespec="seconds") if incident.at else "-"
        click.echo(f"  {incident.instance_id:>8}  {incident.pathway} v{incident.version}  {at}  "
                   f"{incident.element or 'process'}: {incident.message}")
    click.echo(f"{total} {'incident' if total == 1 else 'incidents'}"
               + (f", the latest {len(found)} shown" if total > len(found) else ""))


@click.group("webhooks")
def webhooks_command() -> None:
    """Systems subscribed to Polku's events (CloudEvents, signed)."""


@webhooks_command.command("add")
@click.argument("url")
@click.option("--event", "event_types", multiple=True, required=True,
              help=f"an event type to send (repeatable): {', '.join(webhooks.TYPES)}")
@click.option("--actor", default="cli", help="who registers it")
def add_webhook(url: str, event_types: tuple[str, ...], actor: str) -> None:
    """Subscribe URL to event types; prints the secret its signatures are made with (shown this once)."""
    try:
        found, secret = webhooks.subscribe(url, list(event_types), actor)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"subscription {found.id}: {url} ({', '.join(found.event_types)})\nsecret: {secret}")


@webhooks_command.command("list")
def list_webhooks() -> None:
    """The subscriptions in force."""
    for found in webhooks.subscriptions():
        click.echo(f"  {found.id:>5}  {found.url}  {', '.join(found.event_types)}  (by {found.created_by})")


@webhooks_command.command("end")
@click.argument("subscription_id", type=int)
def end_webhook(subscription_id: int) -> None:
    """End a subscription: nothing more is sent to it."""
    try:
        webhooks.unsubscribe(subscription_id)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"subscription {subscription_id} ended")


@click.command("outbox")
@click.option("--send", is_flag=True, help="send what is due now (the scheduler does this by itself)")
def outbox_command(send: bool) -> None:
    """The outbox's state: pending (and due now), sent, dead."""
    if send:
        click.echo(f"sent {outbox.send_due()}")
    found = outbox.state()
    click.echo(f"pending {found['pending']} (due now {found['due']}), sent {found['sent']}, dead {found['dead']}")


@click.group("metrics")
def metrics_command() -> None:
    """The metrics' rollups (the service keeps them up to date by itself)."""


@metrics_command.command("rebuild")
def rebuild_rollups() -> None:
    """Count every rollup again from the rows: after restoring a backup, or to check them."""
    rollups.rebuild()
    click.echo("the metrics' rollups are counted again from the rows")


@metrics_command.command("catch-up")
def catch_up_rollups() -> None:
    """Count again what was written since the rollups were last brought up to date."""
    click.echo("up to date" if rollups.catch_up() else "another process is counting them now")
