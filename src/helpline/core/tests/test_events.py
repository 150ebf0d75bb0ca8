"""The event spine: outbox writes inside the transaction, idempotent dispatch, retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from helpline.core import events
from helpline.core.models import OutboxEvent, ReceiverRun
from helpline.core.tasks import redispatch_stale_events


class ProbeHappened(events.DomainEvent):
    type = "test.probe_happened"
    description = "Test-only event."
    value: int


CALLS: list[tuple[str, int]] = []
FAIL_ONCE: set[str] = set()


def _sla(event: ProbeHappened, record: OutboxEvent) -> None:
    CALLS.append(("sla", event.value))


def _notify(event: ProbeHappened, record: OutboxEvent) -> None:
    if "notify" in FAIL_ONCE:
        FAIL_ONCE.discard("notify")
        raise RuntimeError("mail server down")
    CALLS.append(("notify", event.value))


def _hook(event: ProbeHappened, record: OutboxEvent) -> None:
    CALLS.append(("webhook", event.value))


@pytest.fixture(autouse=True)
def probe_receivers() -> Iterator[None]:
    # registered out of stage order on purpose: dispatch must sort by stage
    events.receiver(ProbeHappened, stage="webhooks")(_hook)
    events.receiver(ProbeHappened, stage="notifications")(_notify)
    events.receiver(ProbeHappened, stage="sla")(_sla)
    CALLS.clear()
    FAIL_ONCE.clear()
    yield
    events.RECEIVERS.pop(ProbeHappened.type, None)


def test_emit_outside_transaction_is_refused(transactional_db) -> None:
    with pytest.raises(RuntimeError):
        events.emit(ProbeHappened(value=1), actor=None, aggregate=("probe", 1))


def test_event_is_dispatched_after_commit_in_stage_order(
    db, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record = events.emit(ProbeHappened(value=7), actor=None, aggregate=("probe", 1))
        assert CALLS == []  # nothing runs before commit
    assert CALLS == [("sla", 7), ("notify", 7), ("webhook", 7)]
    record.refresh_from_db()
    assert record.dispatched_at is not None
    assert set(ReceiverRun.objects.values_list("state", flat=True)) == {"done"}


def test_rolled_back_transaction_leaves_no_event(db, django_capture_on_commit_callbacks) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        events.emit(ProbeHappened(value=1), actor=None, aggregate=("probe", 1))
        _ = 1 / 0
    assert not OutboxEvent.objects.exists()
    assert CALLS == []


def test_failed_receiver_is_retried_without_rerunning_the_others(db) -> None:
    FAIL_ONCE.add("notify")
    with transaction.atomic():
        record = events.emit(ProbeHappened(value=3), actor=None, aggregate=("probe", 1))
    # first attempt: notify fails, the others succeed, the dispatch reports failure
    with pytest.raises(RuntimeError, match="receivers failed"):
        events.dispatch(record.pk)
    run = ReceiverRun.objects.get(receiver__endswith="_notify")
    assert run.state == "failed" and "mail server down" in run.last_error
    record.refresh_from_db()
    assert record.dispatched_at is None
    # retry: only notify runs again
    events.dispatch(record.pk)
    assert CALLS == [("sla", 3), ("webhook", 3), ("notify", 3)]
    run.refresh_from_db()
    assert run.state == "done" and run.attempts == 2
    # a third dispatch (duplicate delivery) runs nothing
    events.dispatch(record.pk)
    assert len(CALLS) == 3


def test_payload_is_validated_and_versioned(db) -> None:
    with pytest.raises(ValueError):
        ProbeHappened(value="not a number")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ProbeHappened(value=1, extra=2)  # type: ignore[call-arg]
    with transaction.atomic():
        record = events.emit(ProbeHappened(value=5), actor=None, aggregate=("probe", 9))
    assert (record.type, record.version, record.payload) == ("test.probe_happened", 1, {"value": 5})
    assert events.CATALOGUE["ticket.created"].description


def test_stale_undispatched_events_are_redispatched(db) -> None:
    # given an event whose after-commit enqueue was lost (e.g. the process died)
    with transaction.atomic():
        record = events.emit(ProbeHappened(value=4), actor=None, aggregate=("probe", 1))
    OutboxEvent.objects.filter(pk=record.pk).update(
        created_at=record.created_at.replace(year=record.created_at.year - 1)
    )
    # when the periodic sweep runs
    redispatch_stale_events.call_local()
    # then the receivers ran
    assert ("sla", 4) in CALLS
    record.refresh_from_db()
    assert record.dispatched_at is not None


def test_emit_many_writes_a_batch_and_dispatches_each_event_once(
    db, django_capture_on_commit_callbacks
) -> None:
    FAIL_ONCE.add("notify")
    batch = [(ProbeHappened(value=n), ("probe", n)) for n in (1, 2, 3)]
    # when three events are emitted together and the transaction commits
    with django_capture_on_commit_callbacks(execute=True) as hooks, transaction.atomic():
        records = events.emit_many(batch, actor=None)
        assert CALLS == []  # nothing runs before commit
    # then they are three outbox rows, pushed and queued by one after-commit hook
    assert len(hooks) == 1
    assert [(r.type, r.payload, r.aggregate_id) for r in records] == [
        ("test.probe_happened", {"value": n}, str(n)) for n in (1, 2, 3)
    ]
    assert OutboxEvent.objects.count() == 3
    # each event went through its receivers in stage order; the failed receiver of the first
    # event did not stop the others
    rest = [(stage, n) for n in (2, 3) for stage in ("sla", "notify", "webhook")]
    assert list(CALLS) == [("sla", 1), ("webhook", 1), *rest]
    # a retry of the whole batch (as Huey retries the task) re-runs only what failed
    CALLS.clear()
    from helpline.core.tasks import dispatch_events

    dispatch_events.call_local([r.pk for r in records])
    assert CALLS == [("notify", 1)]
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_emit_many_outside_transaction_is_refused(transactional_db) -> None:
    with pytest.raises(RuntimeError):
        events.emit_many([(ProbeHappened(value=1), ("probe", 1))], actor=None)
