"""What each ``hub`` command does; ``hub.entrypoints.cli`` parses the command line and
imports this module only for the commands that need the whole hub (``hub token`` does not,
so it starts in a fraction of the time)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace

from hub.bootstrap import Hub, build_hub, freeze_startup_heap
from hub.config import Settings
from hub.domain.identifiers import lookup_patient_key
from hub.domain.sectors import Sector
from hub.entrypoints.ingest_manifest import ManifestRow
from hub.services.audit import list_access_log
from hub.services.auth import TokenIssuer
from hub.services.directory import (
    DirectoryLoadRefused,
    DirectoryQueryError,
    checked_search,
    load_directory_file,
    search,
    stored_directory,
)
from hub.services.indicators import (
    IndicatorQueryError,
    export_controller,
    export_indicators,
    parse_day,
)
from hub.services.intake import NotReplayable, Rejected, UnknownFormat
from hub.services.pathway_event_redelivery import RedeliveryError, replay_dead_delivery
from hub.store.dead_letters import STAGE_WEBHOOK, DeadLetter
from hub.store.migrate import upgrade


def serve(settings: Settings, host: str, port: int, demo: bool) -> int:
    import uvicorn

    from hub.entrypoints.asgi import create_app
    from hub.entrypoints.demo import (
        DEMO_CPR,
        DEMO_HOSPITAL,
        DEMO_TARIFFS,
        load_demo,
        load_demo_directory,
    )

    if demo and settings.cost_tariffs is None:  # the demo's costs: its sample tariffs
        settings = replace(settings, cost_tariffs=DEMO_TARIFFS)

    async def on_ready(hub: Hub) -> None:
        if not demo:
            return
        await load_demo_directory(hub.units)
        accepted = await load_demo(hub.intake, settings.local_timezone)
        token = TokenIssuer(settings).issue(
            sector=DEMO_HOSPITAL.sector,
            org=DEMO_HOSPITAL.org,
            sub="demo-user",
            aliases=DEMO_HOSPITAL.aliases,
        )
        url = f"http://{host}:{port}/graphql"
        print(
            "\nBrobygger is running with the demo scenario "
            f"({f'{len(accepted)} messages' if accepted else 'loaded earlier'}).\n\n"
            f"  GraphQL:  {url}   (GraphiQL in a browser)\n"
            f"  Page:     http://{host}:{port}/ui/   (coordinators' page; sign in with the token)\n"
            f"  Token:    {token}\n\n"
            "Try:\n"
            f"  curl -s {url} -H 'Authorization: Bearer {token}' \\\n"
            "    -H 'Content-Type: application/json' \\\n"
            f'    -d \'{{"query": "{{ pathway(cpr: \\"{DEMO_CPR}\\") '
            "{ entries { resourceType status start end } } }\"}'\n",
            flush=True,
        )

    app = create_app(settings, on_ready=on_ready)
    # Frames go uncompressed: a live event is written to every subscriber, and deflating
    # it once per connection cost more of `hub serve` than the rest of the fan-out.
    uvicorn.run(
        app, host=host, port=port, log_level="info", lifespan="on", ws_per_message_deflate=False
    )
    return 0


async def worker(settings: Settings) -> int:
    hub = build_hub(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await hub.open()
    hub.start_background(relay=True, consumers=True)
    freeze_startup_heap()
    logging.getLogger("hub.worker").info("worker running on the %s bus", hub.bus.name)
    try:
        await stop.wait()
    finally:
        await hub.close()
    return 0


async def ingest(settings: Settings, rows: Sequence[ManifestRow]) -> int:
    """Each row's file through intake as its sender, in order; one line per file."""
    hub = build_hub(settings)
    await upgrade(hub.engine)
    rejected = 0
    controllers: dict[str, str | None] = {}
    try:
        for row in rows:
            path, sender = row.path, row.sender
            # As over HTTP for a token without a controller claim: the directory's.
            if sender.org not in controllers:
                controllers[sender.org] = await hub.controller_of(sender.org)
            known = controllers[sender.org]
            if known is not None:
                sender = replace(sender, controller=known)
            try:
                accepted = await hub.intake.accept(row.format, path.read_bytes(), sender)
            except OSError as error:
                rejected += 1
                print(f"rejected {path}: cannot read file ({error.strerror})")
            except UnknownFormat as error:
                print(f"hub: {error}", file=sys.stderr)
                return 2
            except Rejected as error:
                rejected += 1
                print(f"rejected {path}: {error} (dead letter {error.dead_letter_id})")
            else:
                note = " (already accepted earlier)" if accepted.duplicate else ""
                print(f"accepted {path}: {accepted.message_id}{note}")
    finally:
        await hub.engine.dispose()
    return 1 if rejected else 0


async def deadletters(
    settings: Settings,
    action: str,
    dead_letter_id: str | None,
    *,
    include_replayed: bool,
    limit: int,
) -> int:
    hub = build_hub(settings)
    await upgrade(hub.engine)
    try:
        if action == "list":
            async with hub.units() as uow:
                letters = await uow.dead_letters.list(
                    status=None if include_replayed else "open", limit=limit
                )
            for letter in letters:
                print(
                    f"{letter.id}  {letter.received_at:%Y-%m-%d %H:%M:%S}  {letter.stage:<8} "
                    f"{letter.format:<7} {letter.status:<8} {letter.error}"
                )
            if not letters:
                print("no dead letters")
            return 0
        if action == "show":
            assert dead_letter_id is not None
            async with hub.units() as uow:
                found = await uow.dead_letters.get(dead_letter_id)
            if found is None:
                print(f"hub: no dead letter {dead_letter_id}", file=sys.stderr)
                return 1
            print(
                f"id:          {found.id}\nstage:       {found.stage}\n"
                f"format:      {found.format}\nconsumer:    {found.consumer or '-'}\n"
                f"sender:      {found.sender_sector or '-'} {found.sender_org or ''} "
                f"{found.sender_sub or ''}\nreceived:    {found.received_at.isoformat()}\n"
                f"status:      {found.status}"
                + (f" as {found.replayed_as}" if found.replayed_as else "")
                + f"\nerror:       {found.error}\nraw ({len(found.raw)} bytes):"
            )
            print(found.raw.decode("utf-8", errors="replace").replace("\r", "\n"))
            return 0
        if action == "replay" and include_replayed:
            return await replay_all(hub)
        return await replay_one(hub, dead_letter_id)
    finally:
        with contextlib.suppress(Exception):
            await hub.engine.dispose()


async def replay_one(hub: Hub, dead_letter_id: str | None) -> int:
    assert dead_letter_id is not None
    async with hub.units() as uow:
        letter = await uow.dead_letters.get(dead_letter_id)
    if letter is not None and letter.stage == STAGE_WEBHOOK:
        return 0 if await replay_webhook(hub, letter) else 1
    try:
        accepted = await hub.intake.replay(dead_letter_id)
    except (NotReplayable, UnknownFormat) as error:
        print(f"hub: {error}", file=sys.stderr)
        return 1
    except Rejected as error:
        print(f"rejected again: {error}")
        return 1
    print(f"replayed {dead_letter_id}: accepted as {accepted.message_id}")
    return 0


async def replay_all(hub: Hub) -> int:
    """Replay every open dead letter, oldest first, so one patient's messages keep their order."""
    async with hub.units() as uow:
        letters = await uow.dead_letters.list(status="open", limit=None, oldest_first=True)
    failed = 0
    for letter in letters:
        if letter.stage == STAGE_WEBHOOK:
            failed += 0 if await replay_webhook(hub, letter) else 1
            continue
        try:
            accepted = await hub.intake.replay(letter.id)
        except (NotReplayable, UnknownFormat, Rejected) as error:
            failed += 1
            print(f"still failing {letter.id}: {error}")
        else:
            print(f"replayed {letter.id}: accepted as {accepted.message_id}")
    print(f"{len(letters) - failed} of {len(letters)} dead letters replayed")
    return 1 if failed else 0


async def replay_webhook(hub: Hub, letter: DeadLetter) -> bool:
    """A webhook dead letter's delivery becomes pending again; the sender posts it anew."""
    try:
        delivery_id = await replay_dead_delivery(hub.units, letter)
    except RedeliveryError as error:
        print(f"hub: {error}", file=sys.stderr)
        return False
    print(f"replayed {letter.id}: webhook delivery {delivery_id} is pending again")
    return True


async def acknowledgements(settings: Settings, message: str | None, limit: int) -> int:
    hub = build_hub(settings)
    await upgrade(hub.engine)
    try:
        async with hub.units() as uow:
            found = await uow.acknowledgements.list(acknowledged_source_id=message, limit=limit)
        for ack in found:
            issues = "; ".join(issue.get("text") or issue.get("code", "") for issue in ack.issues)
            known = "" if ack.original_message_id else " (original not received here)"
            print(
                f"{ack.received_at:%Y-%m-%d %H:%M:%S}  {ack.code:<15} "
                f"for {ack.acknowledged_source_id}{known}  from {ack.sender_org}"
                + (f"  {issues}" if issues else "")
            )
        if not found:
            print("no acknowledgements")
        return 0
    finally:
        await hub.engine.dispose()


def indicators(settings: Settings, args: argparse.Namespace) -> int:
    if (args.sector is None) != (args.org is None):
        print("hub: give --sector and --org together", file=sys.stderr)
        return 2
    if args.controller is not None and args.sector is None:
        print("hub: give --controller with --sector and --org", file=sys.stderr)
        return 2
    sector = None if args.sector is None else Sector(args.sector)
    try:
        first, last = parse_day(args.first), parse_day(args.last)
        if sector is not None:  # checked before the database is opened
            export_controller(sector, args.org, kommune=args.kommune, claimed=args.controller)
    except IndicatorQueryError as error:
        print(f"hub: {error}", file=sys.stderr)
        return 2

    async def export() -> str:
        hub = build_hub(settings)
        await upgrade(hub.engine)
        try:
            controller = None
            if sector is not None:
                # As a token without a controller claim: the directory's, if it knows one.
                known = None if args.controller else await hub.controller_of(args.org)
                controller = export_controller(
                    sector, args.org, kommune=args.kommune, claimed=args.controller, known=known
                )
            return await export_indicators(
                hub.units,
                first,
                last,
                kommune=args.kommune,
                controller=controller,
                org=args.org,
                format=args.format,
            )
        finally:
            await hub.engine.dispose()

    try:
        print(asyncio.run(export()), end="")
    except IndicatorQueryError as error:
        print(f"hub: {error}", file=sys.stderr)
        return 2
    return 0


def audit_list(settings: Settings, cpr: str, limit: int) -> int:
    # Checked before the database is opened: a typo should not create a hub.db.
    if lookup_patient_key(cpr) is None:
        print(
            "hub: --cpr must be a CPR number (10 digits, DDMMYYSSSS) or a replacement "
            "number as SYSTEM|VALUE (a system under urn:oid:1.2.208.176.1.6.1)",
            file=sys.stderr,
        )
        return 2
    if limit < 1:
        print("hub: --limit must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(print_access_log(settings, cpr, limit))


async def print_access_log(settings: Settings, cpr: str, limit: int) -> int:
    hub = build_hub(settings)
    await upgrade(hub.engine)
    try:
        records = await list_access_log(hub.units, cpr, limit)
    finally:
        await hub.engine.dispose()
    for record in records:
        override = f"  OVERRIDE: {record.override_reason}" if record.override_reason else ""
        print(
            f"{record.at.isoformat(timespec='seconds')}  {record.action:<16} "
            f"{record.outcome:<8} {record.sub}  {record.sector}  {record.org}  "
            f"{record.disclosed_count} disclosed  {record.purpose or '-'}{override}"
        )
    if not records:
        print("no accesses recorded")
    return 0


MAX_ERRORS_SHOWN = 50


def directory(settings: Settings, args: argparse.Namespace) -> int:
    """``hub directory load FILE`` and ``hub directory search TEXT``."""
    if args.action == "search":
        # Checked before the database is opened: a typo should not create a hub.db.
        try:
            checked_search(args.text, args.limit)
        except DirectoryQueryError as error:
            print(f"hub: {error}", file=sys.stderr)
            return 2
    return asyncio.run(_directory(settings, args))


async def _directory(settings: Settings, args: argparse.Namespace) -> int:
    hub = build_hub(settings)
    await upgrade(hub.engine)
    try:
        if args.action == "search":
            found = search(await stored_directory(hub.units), args.text, args.limit)
            for organisation in found:
                print(
                    f"{organisation.sor:<18} {organisation.name}  "
                    f"[{organisation.sector or '-'}; {organisation.controller}"
                    + (f"; kommune {organisation.kommune}" if organisation.kommune else "")
                    + "]"
                )
            if not found:
                print("no organisations found")
            return 0
        try:
            report = await load_directory_file(hub.units, args.file, locations=args.locations)
        except DirectoryLoadRefused as error:
            print(f"hub: refused, the directory is unchanged: {error}", file=sys.stderr)
            return 1
        for row_error in report.errors[:MAX_ERRORS_SHOWN]:
            print(f"left out {row_error}")
        if len(report.errors) > MAX_ERRORS_SHOWN:
            print(f"… and {len(report.errors) - MAX_ERRORS_SHOWN} more rows left out")
        print(
            f"loaded {report.organisations} organisations from {report.load.source} "
            f"({len(report.errors)} rows left out)"
        )
        return 0
    finally:
        await hub.engine.dispose()
