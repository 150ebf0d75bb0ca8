"""The event spine: catalogue, `emit()` into the outbox, and idempotent dispatch.

A service calls `emit(SomeEvent(...), actor=..., aggregate=(type, id))` inside its
transaction. The event is written to the outbox table in that transaction; after commit
a real-time push goes out and one dispatch task is enqueued. `dispatch()` feeds the
registered receivers in stage order; each receiver runs at most once per event (a
`ReceiverRun` row records success), so a retry re-runs only the receivers that failed.
Events committed together (`emit_many`, `dispatch_together`) are dispatched as one batch
(`dispatch_many`): a receiver with a batch form (`batch_receiver`) handles all the batch's
events of its type in one call.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
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
    # The batch form, `batch(items)` with `items` a list of (event, record) pairs of this
    # type; None: the dispatcher calls `func` once per event.
    batch: Callable[[list[tuple[Any, Any]]], None] | None = None


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


def batch_receiver(event_cls: type[DomainEvent], *, of: Callable) -> Callable[[Callable], Callable]:
    """Register `func(items)` as the batch form of receiver `of` for `event_cls`: the
    dispatcher calls it once with the (event, record) pairs of a batch's events of that type
    instead of calling `of` per event. It must do for each event what `of` does (same
    writes, e-mails, audit entries and events); it shares the receiver's name, so one
    `ReceiverRun` per event records either form. Register `of` first."""
    name = f"{of.__module__}.{of.__qualname__}"

    def decorate(func: Callable) -> Callable:
        entries = RECEIVERS.get(event_cls.type, [])
        for index, entry in enumerate(entries):
            if entry.name == name:
                entries[index] = replace(entry, batch=func)
                return func
        raise RuntimeError(f"{name} is not a receiver of {event_cls.type!r}")

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
    return emit_many([(event, aggregate)], actor=actor)[0]


def emit_many(
    events: Sequence[tuple[DomainEvent, tuple[str, Any]]],
    *,
    actor: Any | None = None,
    actors: Sequence[Any | None] | None = None,
) -> list[Any]:
    """`emit` for a batch of (event, aggregate) pairs by one `actor` (or by `actors`, one
    per event): the outbox rows are written with one INSERT, and after commit they are
    pushed and queued for dispatch together (one task), dispatched as one batch
    (`dispatch_many`)."""
    from helpline.core.models import OutboxEvent

    if not connection.in_atomic_block:
        raise RuntimeError("emit() must be called inside transaction.atomic()")
    by = [actor] * len(events) if actors is None else list(actors)
    records = OutboxEvent.objects.bulk_create(
        OutboxEvent(
            type=event.type,
            version=event.version,
            payload=event.model_dump(mode="json"),
            actor=who if getattr(who, "pk", None) else None,
            aggregate_type=aggregate[0],
            aggregate_id=str(aggregate[1]),
        )
        for (event, aggregate), who in zip(events, by, strict=True)
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


def _record_runs(
    items: list[tuple[Any, Any]],
    receiver: str,
    runs: dict[tuple[int, str], Any],
    state: str,
    error: str,
) -> None:
    """Record one receiver's outcome for these events: the first attempts with one INSERT,
    the retried ones with one UPDATE."""
    from helpline.core.models import ReceiverRun

    retried = [
        runs[(record.pk, receiver)].pk for _e, record in items if (record.pk, receiver) in runs
    ]
    new = [record for _e, record in items if (record.pk, receiver) not in runs]
    if new:
        ReceiverRun.objects.bulk_create(
            ReceiverRun(event=record, receiver=receiver, state=state, attempts=1, last_error=error)
            for record in new
        )
    if retried:
        ReceiverRun.objects.filter(pk__in=retried).update(
            state=state, attempts=F("attempts") + 1, last_error=error, updated_at=timezone.now()
        )


def _run(
    entry: Receiver, items: list[tuple[Any, Any]], runs: dict[tuple[int, str], Any]
) -> list[Any]:
    """Run one receiver on these events; the records of the events it failed on.

    The receiver's work and its DONE records commit together (exactly once). The events go
    in one transaction (the batch form, else `func` per event); if that fails, each event
    is run again on its own, so that one failing event holds back no other."""
    from helpline.core.models import ReceiverRun

    try:
        with transaction.atomic():
            if entry.batch is not None:
                entry.batch(items)
            else:
                for event, record in items:
                    entry.func(event, record)
            _record_runs(items, entry.name, runs, ReceiverRun.State.DONE, "")
        return []
    except Exception as exc:
        if len(items) > 1:
            logger.warning(
                "receiver %s failed on a batch of %s events (%s); running them one by one",
                entry.name,
                len(items),
                exc,
            )
            return [record for item in items for record in _run(entry, [item], runs)]
        record = items[0][1]
        logger.exception("receiver %s failed on event %s", entry.name, record.pk)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        # IntegrityError: a concurrent dispatch recorded this receiver first (its retry will
        # see that).
        with contextlib.suppress(IntegrityError), transaction.atomic():
            _record_runs(items, entry.name, runs, ReceiverRun.State.FAILED, error)
        return [record]


def dispatch(event_id: int) -> None:
    """Run every receiver of the event once; raise if any failed so the task is retried."""
    dispatch_many([event_id])


def dispatch_many(event_ids: Sequence[int]) -> None:
    """Dispatch these events: each receiver once per event, in stage order per event type.

    The events (in the order they were written) are grouped in runs of one type; for each
    group, each receiver in stage order runs over the group's events: its batch form in one
    call, else per event, in one transaction per receiver and group, and the `ReceiverRun`
    rows are written per receiver and group. Each receiver sees the events in order.
    Events already dispatched, and receivers already done for an event, are skipped: a
    retry re-runs only what failed.
    Events that receivers emit are queued together when the batch is done. Raises if any
    receiver failed, after all were tried (the events it failed on stay undispatched)."""
    from helpline.core.models import OutboxEvent, ReceiverRun

    records = list(
        OutboxEvent.objects.filter(pk__in=list(event_ids), dispatched_at__isnull=True).order_by(
            "pk"
        )
    )
    if not records:
        return
    runs = {
        (run.event_id, run.receiver): run
        for run in ReceiverRun.objects.filter(event__in=[record.pk for record in records])
    }
    # Runs of consecutive events of one type: events of different types are never
    # reordered (a reply before the status change that follows it stays before it).
    groups: list[tuple[str, list[tuple[Any, Any]]]] = []
    for record in records:
        event_cls = CATALOGUE.get(record.type)
        event = event_cls.model_validate(record.payload) if event_cls else None
        if not groups or groups[-1][0] != record.type:
            groups.append((record.type, []))
        groups[-1][1].append((event, record))
    failed: set[int] = set()
    with dispatch_together():
        for event_type, items in groups:
            for entry in RECEIVERS.get(event_type, []):
                pending = [
                    item
                    for item in items
                    if getattr(runs.get((item[1].pk, entry.name)), "state", None)
                    != ReceiverRun.State.DONE
                ]
                if pending:
                    failed.update(record.pk for record in _run(entry, pending, runs))
        done = [record.pk for record in records if record.pk not in failed]
        if done:
            OutboxEvent.objects.filter(pk__in=done).update(dispatched_at=timezone.now())
    if failed:
        raise RuntimeError(f"receivers failed for events {sorted(failed)}")
