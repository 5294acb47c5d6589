"""The hub's tables. Alembic migrations (``hub/store/migrations``) create and upgrade them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hub.store.types import AutoIncrement, JsonDocument, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _bus_record_columns() -> list[Column[object]]:
    """What a record on the bus carries: its topic, key, event id and payload."""
    return [
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("event_id", String(80), nullable=False),
        Column("payload", LargeBinary, nullable=False),
    ]


def _resource_version_columns(*, version_in_key: bool) -> list[Column[object]]:
    """Which version of which resource, who wrote it and with which bus event.

    ``version_in_key``: the version is part of the primary key (the history table).
    """
    return [
        Column("resource_type", String(64), primary_key=True),
        Column("id", String(64), primary_key=True),
        Column("version_id", Integer, primary_key=version_in_key, nullable=False),
        Column("last_updated", UtcDateTime, nullable=False),
        Column("patient_key", String(200), nullable=True),
        Column("sector", String(32), nullable=False),
        Column("org", String(64), nullable=False),
        # The sender's data controller (hub.domain.controllers): the unit of "own data".
        Column("controller", String(80), nullable=False),
        Column("event_id", String(80), nullable=False),
    ]


# Every accepted inbound payload, raw, exactly as it arrived.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("format", String(32), nullable=False),
    Column("sender_sector", String(32), nullable=False),
    Column("sender_org", String(64), nullable=False),
    Column("sender_sub", String(200), nullable=False),
    Column("source_id", String(200), nullable=True),
    # What the message said (hub.domain.translation.fingerprint): a re-send or a re-used id?
    Column("fingerprint", String(80), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    # A sender re-sending the same message (same source id) is recognised, not re-applied.
    UniqueConstraint("format", "sender_org", "source_id"),
)

# Transactional outbox: written with the inbound message, published by the relay.
outbox = Table(
    "outbox",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    *_bus_record_columns(),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index(None, "published_at", "id"),
)

# Anything the hub could not take: kept raw with a specific error, listable and replayable.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("stage", String(32), nullable=False),  # "intake" or "consumer"
    Column("format", String(32), nullable=False),
    Column("consumer", String(100), nullable=True),
    Column("event_id", String(80), nullable=True),
    Column("error_what", Text, nullable=False),
    Column("error_where", String(200), nullable=True),
    Column("sender_sector", String(32), nullable=True),
    Column("sender_org", String(64), nullable=True),
    Column("sender_sub", String(200), nullable=True),
    Column("sender_aliases", JsonDocument, nullable=True),  # list of "kind:value"
    Column("sender_controller", String(80), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # open, replayed
    Column("replayed_at", UtcDateTime, nullable=True),
    Column("replayed_as", String(36), nullable=True),
    Index(None, "status", "received_at"),
)

# Current version of every FHIR resource, with the columns the read paths filter on.
resources = Table(
    "resources",
    metadata,
    *_resource_version_columns(version_in_key=False),
    Column("status", String(64), nullable=True),
    Column("period_start", UtcDateTime, nullable=True),
    Column("period_end", UtcDateTime, nullable=True),
    # When the state held at the source; an older message does not roll it back.
    Column("source_time", UtcDateTime, nullable=True),
    Column("content", JsonDocument, nullable=False),
    Index(None, "patient_key", "resource_type"),
    Index(None, "patient_key", "period_start"),
    Index(None, "sector", "org"),
    Index(None, "patient_key", "controller"),
)

# Every version ever stored (the current one included): FHIR history.
resource_versions = Table(
    "resource_versions",
    metadata,
    *_resource_version_columns(version_in_key=True),
    Column("content", JsonDocument, nullable=False),
)

# Which consumer has applied which bus event: the idempotency record.
processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(80), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)

# The embedded bus: an append-only log in the database, one row per record.
bus_log = Table(
    "bus_log",
    metadata,
    Column("offset", AutoIncrement, primary_key=True, autoincrement=True),
    *_bus_record_columns(),
    Column("appended_at", UtcDateTime, nullable=False),
    Index(None, "topic", "offset"),
)

# The embedded bus's committed positions, per consumer group and topic.
bus_offsets = Table(
    "bus_offsets",
    metadata,
    Column("group_id", String(100), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("next_offset", AutoIncrement, nullable=False),
)

# Who accessed what about whom, when, why and with what outcome. Append-only: the
# migration adds triggers that refuse UPDATE and DELETE (see 0003_audit).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("sub", String(200), nullable=False),
    Column("sector", String(32), nullable=False),
    Column("org", String(64), nullable=False),
    Column("patient_key", String(200), nullable=True),
    # The FHIR AuditEvent (rows written before 0003: {"resources": ["Type/id/_history/v"]}).
    Column("detail", JsonDocument, nullable=False),
    Column("outcome", String(16), nullable=False, server_default="success"),  # or denied
    Column("purpose", String(32), nullable=True),  # v3-ActReason code; None before 0003
    Column("override_reason", Text, nullable=True),  # værdispring asserted, with its reason
    Column("disclosed_count", Integer, nullable=False, server_default="0"),
    Index(None, "patient_key", "at"),
)

# Acknowledgements (MedCom Acknowledgement), recorded against the message they answer.
acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("event_id", String(80), primary_key=True),
    Column("acknowledged_source_id", String(200), nullable=False),
    Column("source_id", String(200), nullable=True),  # the acknowledgement's own id
    Column("code", String(32), nullable=False),  # ok, transient-error, fatal-error
    Column("issues", JsonDocument, nullable=False),  # list of {severity, code, text}
    Column("sender_sector", String(32), nullable=False),
    Column("sender_org", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "acknowledged_source_id"),
)

# Pathway events derived from stored versions (admission, discharge, leave, death):
# the durable log subscriptions are fed from. ``seq`` orders the whole log.
pathway_events = Table(
    "pathway_events",
    metadata,
    Column("seq", AutoIncrement, primary_key=True, autoincrement=True),
    Column("patient_key", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),  # the version the event was derived from
    Column("at", UtcDateTime, nullable=True),  # when it happened, by the source's clock
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("sector", String(32), nullable=False),  # the resource's author
    Column("org", String(64), nullable=False),
    Column("event_id", String(80), nullable=False),  # the bus event it came with
    # The stay as of the event, what its deliveries show (None: a patient's event, an alert).
    Column("state", JsonDocument, nullable=True),
    # One event of a kind per stored version: replaying the bus derives nothing twice.
    UniqueConstraint("resource_type", "resource_id", "version_id", "kind"),
    Index(None, "patient_key", "seq"),
)

# Who wants pathway events, for which municipality, by websocket or webhook.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(16), nullable=False),  # websocket, webhook
    Column("owner_sub", String(200), nullable=False),
    Column("owner_sector", String(32), nullable=False),
    Column("owner_org", String(64), nullable=False),
    Column("owner_kommune", String(3), nullable=True),
    Column("kommune", String(3), nullable=False),  # whose residents' events
    Column("kinds", JsonDocument, nullable=False),  # list of pathway event kinds
    Column("endpoint", Text, nullable=True),  # webhook URL
    Column("secret", String(200), nullable=True),  # webhook signing secret
    # A websocket subscriber's durable feed, found again by what it asked for.
    Column("feed_key", String(300), nullable=True, unique=True),
    Column("status", String(16), nullable=False),  # active, off
    Column("last_event_number", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(100), nullable=True),  # the webhook sender working on it
    Column("lease_until", UtcDateTime, nullable=True),
    # residents: a kommune's residents' pathway events; inbox: the owner's inbox items.
    Column("scope", String(16), nullable=False, server_default="residents"),
    Index(None, "kommune", "status"),
)

# Each subscription's numbered events: eventNumber goes up by one per event, per
# subscription, so a receiver sees a gap and can ask for everything after N.
subscription_deliveries = Table(
    "subscription_deliveries",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_number", Integer, nullable=False),
    Column("pathway_event_seq", AutoIncrement, nullable=False, autoincrement=False),
    Column("patient_key", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, dead (webhooks)
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    # When the current round of webhook attempts began, if not at created_at: a delivery
    # made pending again (redelivery, dead-letter replay) gets its full retry window anew.
    Column("retry_since", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    UniqueConstraint("subscription_id", "event_number"),
    UniqueConstraint("subscription_id", "pathway_event_seq"),
    Index(None, "status", "next_attempt_at"),
)

# Each organisation's inbox (hub.domain.inbox): one row per item and addressee, with
# the state the addressee sets. The item is a logged pathway event; ``announced`` says
# whether it has been numbered into the addressee's inbox subscriptions (a deferred
# referral is announced on the day it is deferred to).
inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    Column("recipient", String(80), nullable=False),  # sor:…, gln:…, kommune:…
    Column("pathway_event_seq", AutoIncrement, nullable=False, autoincrement=False),
    Column("patient_key", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),  # not shown before
    Column("announced", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # new, seen, done, declined
    Column("state_reason", Text, nullable=True),
    Column("state_by", String(200), nullable=True),
    Column("state_org", String(64), nullable=True),
    Column("state_at", UtcDateTime, nullable=True),
    UniqueConstraint("recipient", "pathway_event_seq"),
    Index(None, "recipient", "id"),
    Index(None, "announced", "due_at"),
    Index(None, "resource_type", "resource_id"),
)

# Which organisations take part in which rundbordsmøde (the convener included), kept by
# consumers/round_table_index.py from each stored version of the meeting's Appointment:
# lets an organisation list its meetings across patients. Nothing here is shown as is;
# every meeting listed is read through the consent choke point.
round_table_participants = Table(
    "round_table_participants",
    metadata,
    Column("appointment_id", String(64), primary_key=True),
    Column("org", String(64), primary_key=True),
    Column("patient_key", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # convener, participant
    Column("version_id", Integer, nullable=False),  # the Appointment version it is from
    Index(None, "org"),
)

# Which replacement numbers' Patient records link to which CPR number (hub.domain.
# patient_links), kept by consumers/patient_link_index.py in the projection's
# transaction: a CPR number's pathway finds its linked numbers by index, never by a
# scan of every Patient record. Whether a link counts is still decided on the records.
patient_links = Table(
    "patient_links",
    metadata,
    Column("patient_id", String(64), primary_key=True),  # the linking Patient record's id
    Column("replacement_key", String(200), nullable=False),
    Column("cpr", String(10), nullable=False),
    Column("version_id", Integer, nullable=False),  # the Patient version it is from
    Index(None, "cpr"),
)

# Countable facts derived from stored resource versions (hub.domain.indicators), kept by
# consumers/pathway_facts.py in the projection's transaction: the indicators, the cohort
# rule and the alerts are SQL over this table, never a scan of the resources.
pathway_facts = Table(
    "pathway_facts",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),  # the version the fact is derived from
    Column("patient_key", String(200), nullable=False),
    # The patient's residence municipality, and the sector whose Patient said so.
    Column("kommune", String(3), nullable=True),
    Column("kommune_sector", String(32), nullable=True),
    Column("sector", String(32), nullable=False),  # the resource's author
    Column("org", String(64), nullable=False),
    Column("controller", String(80), nullable=False),  # the author's data controller
    Column("at", UtcDateTime, nullable=True),
    Column("end_at", UtcDateTime, nullable=True),
    Column("value", Float, nullable=True),  # e.g. length of stay in days
    Column("acute", Boolean, nullable=False),
    Column("planned", Boolean, nullable=False),
    Column("status", String(32), nullable=True),
    Column("related", String(300), nullable=True),
    # One fact of a kind per resource: a new version replaces its resource's facts.
    UniqueConstraint("resource_type", "resource_id", "kind"),
    Index(None, "kind", "at"),
    Index(None, "kind", "end_at"),
    Index(None, "patient_key", "kind"),
)

# The organisation directory, loaded from the national SOR register's CSV export
# (hub.services.directory; docs/directory.md). A load replaces all of it in one transaction.
organisations = Table(
    "organisations",
    metadata,
    Column("sor", String(20), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("controller", String(80), nullable=False),  # kommune:<code> or sor:<owner>
    Column("sector", String(32), nullable=True),
    Column("sor_type", String(8), nullable=True),  # IE, SI, OE
    Column("entity_type", String(200), nullable=True),
    Column("parent_sor", String(20), nullable=True),
    Column("institution_sor", String(20), nullable=True),
    Column("owner_sor", String(20), nullable=True),
    Column("kommune", String(3), nullable=True),
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),  # the last day it is valid
)

# The organisations' location numbers (EAN/GLN).
organisation_locations = Table(
    "organisation_locations",
    metadata,
    Column("gln", String(13), primary_key=True),
    Column("sor", String(20), primary_key=True),
    Index(None, "sor"),
)

# Each load of the directory; the newest tells readers whether what they hold is current.
directory_loads = Table(
    "directory_loads",
    metadata,
    Column("id", AutoIncrement, primary_key=True, autoincrement=True),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("source", String(300), nullable=False),
    Column("organisations", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),  # rows left out for errors
)
