"""What a consumer batch reads ahead, kept up to date for the batch's transaction.

The projection reads, before it applies a polled batch (``prepare``), the Patient
records of every patient the batch speaks of, in one query, and follows each Patient
version it stores; the observers ask here (where a patient lives, whether one died)
instead of querying once per event. When any subscription to residents' pathway events
is active at all (one look per batch), it reads and follows their Consent and Encounter
records too: who receives a pathway event is then decided on them as they stand when
the event is derived, as one event at a time decides it on the database. The same
patients' facts, and its resources', are read ahead in the transaction's
``PathwayFacts``, which follows what it writes. Only the transaction the batch was
prepared in has them: anywhere else (one event at a time, tools, tests) the same
questions go to the database as before, so both ways give the same answers.
"""

from __future__ import annotations

from collections.abc import Collection
from weakref import WeakKeyDictionary

from hub.services.pathway_events import SUBSCRIBED_RECORDS
from hub.store.notifications import notify_on_commit
from hub.store.patient_records import for_patients
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

_Key = tuple[str, str]  # resource type, id


class _Batch:
    def __init__(self, types: tuple[str, ...]) -> None:
        self.types = types  # the record types read ahead and followed
        # patient key -> that patient's records (of ``types``) by type and id
        self.records: dict[str, dict[_Key, StoredResource]] = {}
        self.patient_of: dict[_Key, str] = {}  # record -> its patient key
        self.notified: set[str] = set()  # channels already notified in the transaction

    def of_patient(self, patient_key: str, resource_type: str) -> list[StoredResource]:
        return [r for r in self.records[patient_key].values() if r.resource_type == resource_type]


_batches: WeakKeyDictionary[UnitOfWork, _Batch] = WeakKeyDictionary()


async def read_ahead(
    uow: UnitOfWork, patient_keys: Collection[str], resource_keys: Collection[tuple[str, str]]
) -> None:
    """Read, for the batch applied in ``uow``, the Patient records of ``patient_keys``
    (and their Consent and Encounter records when a subscription is active) and the
    facts of those patients and of ``resource_keys`` (``PathwayFacts.read_ahead``)."""
    await uow.resources.flush()
    types = SUBSCRIBED_RECORDS if await uow.subscriptions.any_active() else ("Patient",)
    batch = _batches.setdefault(uow, _Batch(types))
    found = await for_patients(uow.connection, patient_keys, types)
    for patient_key, records in found.items():
        batch.records[patient_key] = {(r.resource_type, r.id): r for r in records}
        batch.patient_of.update(((r.resource_type, r.id), patient_key) for r in records)
    await uow.facts.read_ahead(patient_keys, resource_keys)


def in_batch(uow: UnitOfWork) -> bool:
    """Whether ``uow`` applies a batch that was read ahead."""
    return uow in _batches


def stored(uow: UnitOfWork, record: StoredResource) -> None:
    """The projection stored ``record`` (a new version) in ``uow``: follow it."""
    batch = _batches.get(uow)
    if batch is None or record.resource_type not in batch.types:
        return
    key = (record.resource_type, record.id)
    earlier = batch.patient_of.pop(key, None)
    if earlier is not None:
        batch.records[earlier].pop(key, None)
    if record.patient_key is not None and record.patient_key in batch.records:
        batch.records[record.patient_key][key] = record
        batch.patient_of[key] = record.patient_key


def done(uow: UnitOfWork) -> None:
    """The batch is applied: forget what was read ahead."""
    _batches.pop(uow, None)


async def patient_records(uow: UnitOfWork, patient_key: str) -> list[StoredResource]:
    """Every Patient record of ``patient_key`` (in no particular order)."""
    batch = _batches.get(uow)
    if batch is not None and patient_key in batch.records:
        return batch.of_patient(patient_key, "Patient")
    return await uow.resources.for_patient(patient_key, resource_types=("Patient",))


def subscribed_records(uow: UnitOfWork, patient_key: str) -> list[StoredResource] | None:
    """The patient's records that decide who receives a pathway event (``SUBSCRIBED_RECORDS``)
    as the batch's transaction stands now, in no particular order; None when the batch
    did not read them ahead (no batch, or no subscription was active when it began)."""
    batch = _batches.get(uow)
    if batch is None or batch.types != SUBSCRIBED_RECORDS or patient_key not in batch.records:
        return None
    return list(batch.records[patient_key].values())


async def notify_once_on_commit(uow: UnitOfWork, channel: str) -> None:
    """``notify_on_commit``, once per channel in a batch's transaction (PostgreSQL folds
    a transaction's identical notifications into one anyway)."""
    batch = _batches.get(uow)
    if batch is not None:
        if channel in batch.notified:
            return
        batch.notified.add(channel)
    await notify_on_commit(uow.connection, channel)
