"""The event spine: catalogue, `emit()` into the outbox, and idempotent dispatch.

A service calls `emit(SomeEvent(...), actor=..., aggregate=(type, id))` inside its
transaction. The event is written to the outbox table in that transaction; after commit
a real-time push goes out and one dispatch task is enqueued. `dispatch()` feeds the
registered receivers in stage order; each receiver runs at most once per event (a
`ReceiverRun` row records success), so a retry re-runs only the receivers that failed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

STAGES = ("sla", "automation", "notifications", "analytics", "webhooks", "apps")


class DomainEvent(BaseModel):
    """Base of every event payload. Subclasses set `type` and `version` class variables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            existing = CATALOGUE.get(cls.type)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise RuntimeError(f"event type {cls.type!r} is defined twice")
            CATALOGUE[cls.type] = cls


CATALOGUE: dict[str, type[DomainEvent]] = {}


@dataclass(frozen=True)
class Receiver:
    name: str
    event_type: str
    stage: str
    func: Callable[[Any, Any], None]


RECEIVERS: dict[str, list[Receiver]] = {}


def receiver(event_cls: type[DomainEvent], *, stage: str) -> Callable[[Callable], Callable]:
    """Register `func(event, record)` to run when an event of `event_cls` is dispatched."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")

    def decorate(func: Callable) -> Callable:
        name = f"{func.__module__}.{func.__qualname__}"
        entries = RECEIVERS.setdefault(event_cls.type, [])
        if all(entry.name != name for entry in entries):
            entries.append(Receiver(name, event_cls.type, stage, func))
            entries.sort(key=lambda entry: STAGES.index(entry.stage))
        return func

    return decorate


def load_receivers() -> None:
    """Import `receivers` and `events` of every Helpline app (the explicit registry)."""
    for config in apps.get_app_configs():
        if not config.name.startswith("helpline."):
            continue
        for module in ("events", "receivers"):
            try:
                importlib.import_module(f"{config.name}.{module}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.{module}":
                    raise


def emit(event: DomainEvent, *, actor: Any | None, aggregate: tuple[str, Any]) -> Any:
    """Write `event` to the outbox in the current transaction; dispatch after commit."""
    from helpline.core.models import OutboxEvent

    if not connection.in_atomic_block:
        raise RuntimeError("emit() must be called inside transaction.atomic()")
    record = OutboxEvent.objects.create(
        type=event.type,
        version=event.version,
        payload=event.model_dump(mode="json"),
        actor=actor if getattr(actor, "pk", None) else None,
        aggregate_type=aggregate[0],
        aggregate_id=str(aggregate[1]),
    )
    transaction.on_commit(lambda: _after_commit(record))
    return record


def emit_many(
    events: Sequence[tuple[DomainEvent, tuple[str, Any]]], *, actor: Any | None
) -> list[Any]:
    """`emit` for a batch of (event, aggregate) pairs by one actor: the outbox rows are
    written with one INSERT, and after commit they are pushed and queued for dispatch
    together (one task); each event is still dispatched, and retried, on its own."""
    from helpline.core.models import OutboxEvent

    if not connection.in_atomic_block:
        raise RuntimeError("emit_many() must be called inside transaction.atomic()")
    by = actor if getattr(actor, "pk", None) else None
    records = OutboxEvent.objects.bulk_create(
        OutboxEvent(
            type=event.type,
            version=event.version,
            payload=event.model_dump(mode="json"),
            actor=by,
            aggregate_type=aggregate[0],
            aggregate_id=str(aggregate[1]),
        )
        for event, aggregate in events
    )
    if records:
        transaction.on_commit(lambda: _after_commit(*records))
    return records


# The committed events collected by `dispatch_together()`, None outside it.
_together: ContextVar[list[Any] | None] = ContextVar("dispatch_together", default=None)


@contextlib.contextmanager
def dispatch_together() -> Iterator[None]:
    """Events committed inside the block are pushed and queued for dispatch when it ends,
    together (one real-time call, one task), instead of one by one after each commit.

    For batch jobs that commit many events; what a crash before the end loses is caught by
    `redispatch_stale_events`, as for a crash between a commit and its enqueue."""
    collected: list[Any] = []
    token = _together.set(collected)
    try:
        yield
    finally:
        _together.reset(token)
        if collected:
            _publish_and_enqueue(collected)


def _after_commit(*records: Any) -> None:
    collected = _together.get()
    if collected is not None:
        collected.extend(records)
    else:
        _publish_and_enqueue(list(records))


def _publish_and_enqueue(records: list[Any]) -> None:
    from helpline.core import realtime
    from helpline.core.tasks import dispatch_event, dispatch_events, enqueue

    realtime.publish_events(records)
    if len(records) == 1:
        enqueue(dispatch_event, records[0].pk)
    else:
        enqueue(dispatch_events, [record.pk for record in records])


def _record_run(record: Any, receiver: str, run: Any, state: str, error: str) -> None:
    """One write per receiver run: insert the first attempt, update a retried one."""
    from helpline.core.models import ReceiverRun

    if run is None:
        ReceiverRun.objects.create(
            event=record, receiver=receiver, state=state, attempts=1, last_error=error
        )
    else:
        ReceiverRun.objects.filter(pk=run.pk).update(
            state=state, attempts=F("attempts") + 1, last_error=error, updated_at=timezone.now()
        )


def dispatch(event_id: int) -> None:
    """Run every receiver of the event once; raise if any failed so the task is retried."""
    from helpline.core.models import OutboxEvent, ReceiverRun

    record = OutboxEvent.objects.filter(pk=event_id).first()
    if record is None or record.dispatched_at is not None:
        return
    event_cls = CATALOGUE.get(record.type)
    event = event_cls.model_validate(record.payload) if event_cls else None
    runs = {run.receiver: run for run in ReceiverRun.objects.filter(event=record)}
    failures: list[str] = []
    for entry in RECEIVERS.get(record.type, []):
        run = runs.get(entry.name)
        if run is not None and run.state == ReceiverRun.State.DONE:
            continue
        try:
            # The receiver's work and its DONE record commit together: exactly once.
            with transaction.atomic():
                entry.func(event, record)
                _record_run(record, entry.name, run, ReceiverRun.State.DONE, "")
        except Exception as exc:
            logger.exception("receiver %s failed on event %s", entry.name, record.pk)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            # IntegrityError: a concurrent dispatch recorded this receiver first (its retry
            # will see that).
            with contextlib.suppress(IntegrityError), transaction.atomic():
                _record_run(record, entry.name, run, ReceiverRun.State.FAILED, error)
            failures.append(entry.name)
    if failures:
        raise RuntimeError(f"receivers failed for event {record.pk}: {', '.join(failures)}")
    OutboxEvent.objects.filter(pk=record.pk).update(dispatched_at=timezone.now())
