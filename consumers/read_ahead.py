"""What a consumer batch reads ahead, kept up to date for the batch's transaction.

The projection reads, before it applies a polled batch (``prepare``), the Patient
records of every patient the batch speaks of, in one query, and follows each Patient
version it stores; the observers ask here (where a patient lives, whether one died)
instead of querying once per event. The same patients' facts, and its resources', are
read ahead in the transaction's ``PathwayFacts``, which follows what it writes. Only
the transaction the batch was prepared in has them: anywhere else (one event at a time,
tools, tests) the same questions go to the database as before, so both ways give the
same answers.
"""

from __future__ import annotations

from collections.abc import Collection
from weakref import WeakKeyDictionary

from hub.store.notifications import notify_on_commit
from hub.store.patient_records import for_patients
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork


class _Batch:
    def __init__(self) -> None:
        # patient key -> that patient's Patient records by id
        self.patients: dict[str, dict[str, StoredResource]] = {}
        self.patient_of: dict[str, str] = {}  # Patient record id -> its patient key
        self.notified: set[str] = set()  # channels already notified in the transaction


_batches: WeakKeyDictionary[UnitOfWork, _Batch] = WeakKeyDictionary()


async def read_ahead(
    uow: UnitOfWork, patient_keys: Collection[str], resource_keys: Collection[tuple[str, str]]
) -> None:
    """Read, for the batch applied in ``uow``, the Patient records of ``patient_keys`` and
    the facts of those patients and of ``resource_keys`` (``PathwayFacts.read_ahead``)."""
    await uow.resources.flush()
    batch = _batches.setdefault(uow, _Batch())
    found = await for_patients(uow.connection, patient_keys, ("Patient",))
    for patient_key, records in found.items():
        batch.patients[patient_key] = {record.id: record for record in records}
        batch.patient_of.update((record.id, patient_key) for record in records)
    await uow.facts.read_ahead(patient_keys, resource_keys)


def in_batch(uow: UnitOfWork) -> bool:
    """Whether ``uow`` applies a batch that was read ahead."""
    return uow in _batches


def stored(uow: UnitOfWork, record: StoredResource) -> None:
    """The projection stored ``record`` (a new version) in ``uow``: follow it."""
    batch = _batches.get(uow)
    if batch is None or record.resource_type != "Patient":
        return
    earlier = batch.patient_of.pop(record.id, None)
    if earlier is not None:
        batch.patients[earlier].pop(record.id, None)
    if record.patient_key is not None and record.patient_key in batch.patients:
        batch.patients[record.patient_key][record.id] = record
        batch.patient_of[record.id] = record.patient_key


def done(uow: UnitOfWork) -> None:
    """The batch is applied: forget what was read ahead."""
    _batches.pop(uow, None)


async def patient_records(uow: UnitOfWork, patient_key: str) -> list[StoredResource]:
    """Every Patient record of ``patient_key`` (in no particular order)."""
    batch = _batches.get(uow)
    if batch is not None and patient_key in batch.patients:
        return list(batch.patients[patient_key].values())
    return await uow.resources.for_patient(patient_key, resource_types=("Patient",))


async def notify_once_on_commit(uow: UnitOfWork, channel: str) -> None:
    """``notify_on_commit``, once per channel in a batch's transaction (PostgreSQL folds
    a transaction's identical notifications into one anyway)."""
    batch = _batches.get(uow)
    if batch is not None:
        if channel in batch.notified:
            return
        batch.notified.add(channel)
    await notify_on_commit(uow.connection, channel)
