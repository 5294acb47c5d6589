"""The ``hub`` command line: serve, worker, ingest, dead letters, audit, indicators and
development tokens. Parsing and the token command only; the rest is in
``hub.entrypoints.commands``, imported when a command needs it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from hub import clock
from hub.config import ConfigError, Settings
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.entrypoints.ingest_manifest import DEFAULT_SUB, ManifestError, ManifestRow, read_manifest
from hub.entrypoints.logs import configure_logging
from hub.services.auth import TokenError, TokenIssuer

log = logging.getLogger(__name__)


def install_clock(settings: Settings) -> None:
    """Give the process the clock its settings name (the machine's, unless moved)."""
    if settings.clock_offset:
        log.warning(
            "the hub's clock is moved %s from the machine's (HUB_CLOCK_OFFSET_DAYS)",
            settings.clock_offset,
        )
    clock.install(clock.SystemClock(settings.clock_offset))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="intake, GraphQL API, relay and consumers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the demo scenario at start")

    commands.add_parser("worker", help="consumers (and the outbox relay) only")

    demo = commands.add_parser("demo", help="load demo data into the configured hub")
    demo.add_argument(
        "--year",
        action="store_true",
        required=True,
        help="a year of events for one kommune and one hospital (docs/year-of-events.md)",
    )

    ingest = commands.add_parser(
        "ingest",
        help="accept message files through intake",
        usage=(
            "hub ingest FORMAT FILE... --sector S --org O [--alias A]... [--sub NAME]\n"
            "       hub ingest --manifest FILE"
        ),
    )
    ingest.add_argument("format", nargs="?")
    ingest.add_argument("files", nargs="*", type=Path)
    ingest.add_argument("--sector", choices=[s.value for s in Sector])
    ingest.add_argument("--org", help="SOR code of the sending organisation")
    ingest.add_argument("--sub", default=DEFAULT_SUB, help="name of the sending system")
    ingest.add_argument(
        "--manifest",
        type=Path,
        help="a CSV naming each file's format and sender (docs/configuration.md)",
    )
    ingest.add_argument(
        "--alias",
        action="append",
        default=[],
        help="another name the messages give their sender: gln:<GLN> or hl7:<MSH-4> (repeatable)",
    )

    dead = commands.add_parser("deadletters", help="list, show and replay dead letters")
    dead_commands = dead.add_subparsers(dest="action", required=True)
    listing = dead_commands.add_parser("list")
    listing.add_argument("--all", action="store_true", help="replayed ones too")
    listing.add_argument("--limit", type=int, default=100)
    dead_commands.add_parser("show").add_argument("id")
    replay = dead_commands.add_parser("replay", help="replay one dead letter, or --all open ones")
    replay.add_argument("id", nargs="?")
    replay.add_argument("--all", action="store_true", help="every open dead letter, oldest first")

    acks = commands.add_parser("acknowledgements", help="acknowledgements received for messages")
    acks.add_argument("--message", help="only those for this message id (e.g. MessageHeader.id)")
    acks.add_argument("--limit", type=int, default=100)

    audit = commands.add_parser("audit", help="who accessed a patient's data")
    audit_commands = audit.add_subparsers(dest="action", required=True)
    audit_list = audit_commands.add_parser("list", help="one line per access, newest first")
    audit_list.add_argument(
        "--cpr",
        required=True,
        help="the patient's CPR number, or their replacement number as SYSTEM|VALUE",
    )
    audit_list.add_argument("--limit", type=int, default=100)

    indicators = commands.add_parser(
        "indicators", help="the pathway indicators of a period (the monthly audit), CSV or JSON"
    )
    indicators.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    indicators.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    indicators.add_argument("--kommune", help="only residents of this municipality (3 digits)")
    indicators.add_argument(
        "--sector",
        choices=[s.value for s in Sector],
        help=(
            "with --org: that organisation's own figures, its data controller's facts, exact "
            "(else every sector's, small counts suppressed)"
        ),
    )
    indicators.add_argument("--org", help="SOR code of the organisation asking (with --sector)")
    indicators.add_argument(
        "--controller",
        help=(
            "the organisation's data controller, e.g. sor:<region's SOR code> (with --sector "
            "and --org; default as a token's: the kommune, else from the directory, else the "
            "organisation itself)"
        ),
    )
    indicators.add_argument("--format", choices=["csv", "json"], default="csv")

    directory = commands.add_parser(
        "directory", help="the organisation directory, from the SOR register's CSV export"
    )
    directory_commands = directory.add_subparsers(dest="action", required=True)
    directory_load = directory_commands.add_parser(
        "load",
        help="replace the directory with SorEntity_daily.csv, SOREntity.csv or SOR_complete.zip",
    )
    directory_load.add_argument("file", type=Path)
    directory_load.add_argument("--locations", type=Path, help="LocationsCodes.csv (EAN/GLN)")
    directory_search = directory_commands.add_parser("search", help="organisations by name")
    directory_search.add_argument("text", help="words the name holds (any case), or a SOR code")
    directory_search.add_argument("--limit", type=int, default=20)

    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("--sector", required=True, choices=[s.value for s in Sector])
    token.add_argument("--org", required=True, help="SOR code")
    token.add_argument("--kommune", help="3-digit municipality code (municipality tokens)")
    token.add_argument("--sub", default="dev-user")
    token.add_argument(
        "--role", action="append", default=[], help="a role, e.g. auditor (repeatable)"
    )
    token.add_argument("--cpr", help="the patient's own token: their CPR number")
    token.add_argument(
        "--controller",
        help="the data controller, e.g. sor:<region's SOR code> (default: from the directory)",
    )
    token.add_argument(
        "--alias",
        action="append",
        default=[],
        help="another sender name the caller's messages may use: gln:<GLN> or hl7:<MSH-4>",
    )
    token.add_argument(
        "--scope",
        action="append",
        default=[],
        help=(
            "a SMART on FHIR scope narrowing what the token reads over FHIR REST, e.g. "
            "'patient/*.rs' or 'user/Encounter.rs' (repeatable, or several space-separated)"
        ),
    )
    token.add_argument(
        "--patient", help="the SMART launch context: a FHIR Patient id (for patient/ scopes)"
    )
    token.add_argument("--ttl-hours", type=float, default=12.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()  # CPR numbers and names are masked in every log line
    try:
        settings = Settings.from_env()
        install_clock(settings)
        if args.command == "token":
            return _token(settings, args)
        return _run(settings, args)
    except (ConfigError, TokenError) as error:
        print(f"hub: {error}", file=sys.stderr)
        return 2


def _token(settings: Settings, args: argparse.Namespace) -> int:
    print(
        TokenIssuer(settings).issue(
            sector=Sector(args.sector),
            org=args.org,
            sub=args.sub,
            kommune=args.kommune,
            aliases=frozenset(args.alias),
            roles=frozenset(args.role),
            cpr=args.cpr,
            controller=args.controller,
            scopes=frozenset(scope for given in args.scope for scope in given.split()),
            launch_patient=args.patient,
            ttl=timedelta(hours=args.ttl_hours),
        )
    )
    return 0


def _ingest_rows(args: argparse.Namespace) -> list[ManifestRow] | None:
    """The files ``hub ingest`` is given, each with its format and sender; None (and a
    line on stderr) when the arguments do not say."""
    if args.manifest is not None:
        if args.format or args.files or args.sector or args.org or args.alias:
            print("hub: --manifest names the files and senders itself", file=sys.stderr)
            return None
        try:
            return read_manifest(args.manifest)
        except ManifestError as error:
            print(f"hub: {error}", file=sys.stderr)
            return None
    if not (args.format and args.files and args.sector and args.org):
        print("hub: give FORMAT FILE... --sector --org, or --manifest", file=sys.stderr)
        return None
    sender = Sender(Sector(args.sector), args.org, args.sub, frozenset(args.alias))
    return [ManifestRow(path, args.format, sender) for path in args.files]


def _run(settings: Settings, args: argparse.Namespace) -> int:
    rows = _ingest_rows(args) if args.command == "ingest" else []
    if rows is None:
        return 2
    from hub.entrypoints import commands  # the whole hub: only for the commands that use it

    if args.command == "serve":
        return commands.serve(settings, args.host, args.port, args.demo)
    if args.command == "worker":
        return asyncio.run(commands.worker(settings))
    if args.command == "demo":
        from hub.entrypoints.demo_year import run_year_demo

        return asyncio.run(run_year_demo(settings))
    if args.command == "ingest":
        return asyncio.run(commands.ingest(settings, rows))
    if args.command == "deadletters":
        if args.action == "replay" and (args.id is None) == (not args.all):
            print("hub: give a dead letter id or --all", file=sys.stderr)
            return 2
        return asyncio.run(
            commands.deadletters(
                settings,
                args.action,
                getattr(args, "id", None),
                include_replayed=getattr(args, "all", False),
                limit=getattr(args, "limit", 100),
            )
        )
    if args.command == "acknowledgements":
        return asyncio.run(commands.acknowledgements(settings, args.message, args.limit))
    if args.command == "audit":
        return commands.audit_list(settings, args.cpr, args.limit)
    if args.command == "indicators":
        return commands.indicators(settings, args)
    if args.command == "directory":
        return commands.directory(settings, args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
