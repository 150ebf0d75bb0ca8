"""The event spine: outbox writes inside the transaction, idempotent dispatch, retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpline.core import events
from helpline.core.models import OutboxEvent, ReceiverRun
from helpline.core.tasks import dispatch_events, redispatch_stale_events
from helpline.tickets.models import Tag


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
    # the batch went through the receivers in stage order, each receiver over the three
    # events; notify failed on the first event, so it ran again event by event
    expected = [(stage, n) for stage in ("sla", "notify", "webhook") for n in (1, 2, 3)]
    assert list(CALLS) == expected
    assert ReceiverRun.objects.filter(state="done").count() == 9
    # a redelivery of the whole batch (as Huey retries the task) runs nothing again
    CALLS.clear()
    from helpline.core.tasks import dispatch_events

    dispatch_events.call_local([r.pk for r in records])
    assert CALLS == []
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_emit_many_outside_transaction_is_refused(transactional_db) -> None:
    with pytest.raises(RuntimeError):
        events.emit_many([(ProbeHappened(value=1), ("probe", 1))], actor=None)


# --- batch dispatch: receivers with a batch form, failures inside a batch -------------------


class BatchProbe(events.DomainEvent):
    type = "test.batch_probe"
    description = "Test-only event with a batch receiver."
    value: int


# Receivers write a Tag per (receiver, event): rows, unlike a list, roll back with the work.
BATCHES: list[list[int]] = []
BROKEN: set[int] = set()  # values the receivers fail on


def _tag(prefix: str, value: int) -> None:
    Tag.objects.create(name=f"{prefix}-{value}")


def _probe_sla(event: BatchProbe, record: OutboxEvent) -> None:
    raise AssertionError("the batch form runs instead")


def _probe_sla_many(items: list[tuple[BatchProbe, OutboxEvent]]) -> None:
    BATCHES.append([event.value for event, _record in items])
    CALLS.extend(("batch", event.value) for event, _record in items)
    if "sla" in FAIL_ONCE and any(event.value in BROKEN for event, _record in items):
        raise RuntimeError("timer store down")
    for event, _record in items:
        _tag("sla", event.value)


def _probe_notify(event: BatchProbe, record: OutboxEvent) -> None:
    if "notify" in FAIL_ONCE and event.value in BROKEN:
        raise RuntimeError("mail server down")
    _tag("notify", event.value)


def _probe_hook(event: BatchProbe, record: OutboxEvent) -> None:
    _tag("webhook", event.value)


@pytest.fixture(autouse=True)
def batch_probe_receivers() -> Iterator[None]:
    events.receiver(BatchProbe, stage="sla")(_probe_sla)
    events.batch_receiver(BatchProbe, of=_probe_sla)(_probe_sla_many)
    events.receiver(BatchProbe, stage="notifications")(_probe_notify)
    events.receiver(BatchProbe, stage="webhooks")(_probe_hook)
    BATCHES.clear()
    BROKEN.clear()
    yield
    events.RECEIVERS.pop(BatchProbe.type, None)


def _emit_batch(*values: int) -> list[int]:
    with transaction.atomic():
        records = events.emit_many(
            [(BatchProbe(value=n), ("probe", n)) for n in values], actor=None
        )
    return [record.pk for record in records]


def _tags() -> set[str]:
    return set(Tag.objects.values_list("name", flat=True))


def test_batch_form_is_called_once_per_batch_with_one_insert_of_runs_per_receiver(db) -> None:
    ids = _emit_batch(1, 2, 3)
    # when the batch task runs
    with CaptureQueriesContext(connection) as queries:
        dispatch_events.call_local(ids)
    # then the batch form got the three events in one call, the others ran per event
    assert BATCHES == [[1, 2, 3]]
    assert _tags() == {f"{r}-{n}" for r in ("sla", "notify", "webhook") for n in (1, 2, 3)}
    # one ReceiverRun INSERT per receiver, one UPDATE marks the three events dispatched
    inserts = [q for q in queries.captured_queries if 'INTO "core_receiverrun"' in q["sql"]]
    assert len(inserts) == 3
    assert ReceiverRun.objects.filter(state="done").count() == 9
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()


def test_single_dispatch_calls_the_batch_form_with_one_event(db) -> None:
    (event_id,) = _emit_batch(5)
    events.dispatch(event_id)
    assert BATCHES == [[5]]
    assert _tags() == {"sla-5", "notify-5", "webhook-5"}


def test_failing_receiver_in_a_batch_holds_back_only_its_event_and_is_retried_alone(db) -> None:
    FAIL_ONCE.add("notify")
    BROKEN.add(2)
    ids = _emit_batch(1, 2, 3)
    # first attempt: notify fails on event 2 only; everything else is done
    with pytest.raises(RuntimeError, match="receivers failed"):
        dispatch_events.call_local(ids)
    assert _tags() == {"sla-1", "sla-2", "sla-3", "notify-1", "notify-3"} | {
        f"webhook-{n}" for n in (1, 2, 3)
    }
    failed = ReceiverRun.objects.get(state="failed")
    assert failed.event_id == ids[1] and failed.receiver.endswith("_probe_notify")
    assert "mail server down" in failed.last_error
    dispatched = OutboxEvent.objects.filter(dispatched_at__isnull=False)
    assert set(dispatched.values_list("pk", flat=True)) == {ids[0], ids[2]}
    # retry of the whole task once the mail server is back: only notify of event 2 runs
    FAIL_ONCE.clear()
    dispatch_events.call_local(ids)
    assert BATCHES == [[1, 2, 3]]  # the batch form did not run again
    assert "notify-2" in _tags() and len(_tags()) == 9  # each receiver once per event
    failed.refresh_from_db()
    assert failed.state == "done" and failed.attempts == 2
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()
    # a duplicate delivery runs nothing
    dispatch_events.call_local(ids)
    assert BATCHES == [[1, 2, 3]] and len(_tags()) == 9


def test_failing_batch_form_is_run_event_by_event(db) -> None:
    FAIL_ONCE.add("sla")
    BROKEN.add(3)
    ids = _emit_batch(1, 2, 3)
    # the batch fails as a whole (its writes roll back), then each event runs on its own
    with pytest.raises(RuntimeError, match="receivers failed"):
        dispatch_events.call_local(ids)
    assert BATCHES == [[1, 2, 3], [1], [2], [3]]
    assert {"sla-1", "sla-2"} <= _tags() and "sla-3" not in _tags()
    # the other receivers were not held back, event 3 included
    assert {f"notify-{n}" for n in (1, 2, 3)} <= _tags()
    FAIL_ONCE.clear()
    dispatch_events.call_local(ids)
    assert BATCHES[-1] == [3]
    assert len(_tags()) == 9
    assert not OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).exists()


def test_batch_form_must_follow_its_receiver() -> None:
    with pytest.raises(RuntimeError, match="is not a receiver"):
        events.batch_receiver(BatchProbe, of=_tag)(_probe_sla_many)


def test_events_of_different_types_are_not_reordered(db) -> None:
    # Given a batch where events of two types alternate
    with transaction.atomic():
        records = events.emit_many(
            [
                (BatchProbe(value=1), ("probe", 1)),
                (BatchProbe(value=2), ("probe", 2)),
                (ProbeHappened(value=3), ("probe", 3)),
                (BatchProbe(value=4), ("probe", 4)),
            ],
            actor=None,
        )
    # When it is dispatched
    dispatch_events.call_local([r.pk for r in records])
    # Then the run of the first two is one batch, and the fourth waited for the third
    assert BATCHES == [[1, 2], [4]]
    probe = [("sla", 3), ("notify", 3), ("webhook", 3)]
    assert list(CALLS) == [("batch", 1), ("batch", 2), *probe, ("batch", 4)]
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
