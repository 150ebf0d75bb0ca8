"""Inbound mail: store the raw bytes first, then turn them into ticket messages.

`receive` / `receive_many` are what every way in (IMAP, SMTP/LMTP intake, HTTP) calls:
they store the exact bytes (deduplicated by Message-ID and by SHA-256 per mailbox) and
queue `process_pending`, which claims the stored messages and processes them in batches.
Processing is idempotent and replayable: one transaction creates the ticket messages and
marks the rows processed, so a crash or a retry never makes two.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import reduce
from typing import Any, cast
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Field, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.accounts import services as accounts
from helpline.accounts.models import Role, User
from helpline.core import blobs
from helpline.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from helpline.core.events import dispatch_together
from helpline.core.memo import memoized
from helpline.core.tasks import enqueue
from helpline.mail import parsing
from helpline.mail.models import InboundEmail, InboundRaw, Mailbox, SenderStatus
from helpline.notifications.threading import normalize_message_id, sent_tickets
from helpline.tickets import bulk
from helpline.tickets import services as tickets
from helpline.tickets.models import Channel, Message, Status, Ticket, TicketLink

logger = logging.getLogger(__name__)

State = InboundEmail.State
FINAL_STATES = (State.PROCESSED, State.REJECTED)
SYSTEM_EMAIL = "mail-system@helpline.invalid"
MAX_WATCHERS = 20


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_message_bytes() -> int:
    return int(_setting("HELPLINE_MAIL_MAX_MESSAGE_BYTES", 40 * 1024 * 1024))


def max_stored_bytes() -> int:
    """The largest message the intake server and the HTTP endpoint accept and store (at
    least the parsing limit: what lies between is stored and shown with a notice)."""
    stored = int(_setting("HELPLINE_MAIL_MAX_STORED_BYTES", 100 * 1024 * 1024))
    return max(stored, max_message_bytes())


# --- storing -------------------------------------------------------------------------------

# Messages processed per transaction, and the most raw bytes one batch holds in memory.
BATCH_SIZE = 50
BATCH_BYTES = 32 * 1024 * 1024
# Messages one `process_pending` call takes at the most.
PENDING_LIMIT = BATCH_SIZE * 10


def _stored(mailbox: Mailbox, digests: set[str], message_ids: set[str]) -> list[InboundEmail]:
    """The rows of the mailbox with one of these SHA-256s or Message-IDs, oldest first.

    An OR that both databases answer from the (mailbox, sha256) and the Message-ID
    indexes: (mailbox AND sha256 IN ...) OR message_id IN ... (SQLite's "multi-index OR").
    Without Message-IDs, one equality per SHA-256: `mailbox AND sha256 IN` alone makes
    SQLite read the whole mailbox, raw bytes and all."""
    if message_ids:
        terms = [Q(mailbox=mailbox, sha256__in=sorted(digests)), Q(message_id__in=message_ids)]
    else:
        terms = [Q(mailbox=mailbox, sha256=digest) for digest in digests]
    if not terms:
        return []
    rows = InboundEmail.objects.filter(reduce(operator.or_, terms)).order_by("id")
    return [row for row in rows if row.mailbox_id == mailbox.pk]


def store_raw(*, mailbox: Mailbox, raw: bytes, source: str) -> tuple[InboundEmail, bool]:
    """Store the exact bytes. Returns (row, created); a duplicate returns the first row."""
    return store_many(mailbox=mailbox, raws=[raw], source=source)[0]


def _new_row(
    mailbox: Mailbox, raw: bytes, digest: str, head: parsing.ParsedEmail, source: str
) -> InboundEmail:
    return InboundEmail(
        mailbox=mailbox,
        sha256=digest,
        size=len(raw),
        message_id=head.message_id,
        source=source[:20],
        sender=head.sender,
        subject=head.subject,
    )


def store_many(
    *, mailbox: Mailbox, raws: Sequence[bytes], source: str
) -> list[tuple[InboundEmail, bool]]:
    """Store the exact bytes of several messages: one query for the ones stored before, one
    insert for the new rows and one for their bytes. Returns (row, created) per message, in
    order; a duplicate (same bytes or Message-ID, stored before or earlier in `raws`)
    returns the first row."""
    heads = [
        (raw, hashlib.sha256(raw).hexdigest(), parsing.parse_headers_only(raw, stored=True))
        for raw in raws
    ]
    digests = {digest for _raw, digest, _head in heads}
    message_ids = {head.message_id for _raw, _digest, head in heads if head.message_id}
    # The first row (lowest key) per SHA-256 and per Message-ID: stored rows, then new ones.
    first: dict[tuple[str, str], tuple[tuple[int, int], InboundEmail]] = {}
    for row in _stored(mailbox, digests, message_ids):
        for key in (("sha256", row.sha256), ("message_id", row.message_id)):
            if key[1]:
                first.setdefault(key, ((0, row.pk), row))
    results: list[tuple[InboundEmail, bool]] = []
    new: list[tuple[bytes, InboundEmail]] = []
    for index, (raw, digest, head) in enumerate(heads):
        keys = [("sha256", digest)] + ([("message_id", head.message_id)] if head.message_id else [])
        found = [first[key] for key in keys if key in first]
        if found:
            results.append((min(found, key=lambda item: item[0])[1], False))
            continue
        row = _new_row(mailbox, raw, digest, head, source)
        for key in keys:
            first[key] = ((1, index), row)
        new.append((raw, row))
        results.append((row, True))
    if not new:
        return results
    try:
        with transaction.atomic():
            InboundEmail.objects.bulk_create([row for _raw, row in new])
            blobs.write(InboundRaw, "data", [(row.pk, raw) for raw, row in new])
    except IntegrityError:
        # Stored meanwhile by another way in.
        if len(raws) > 1:
            return [store_raw(mailbox=mailbox, raw=raw, source=source) for raw in raws]
        raw, digest, head = heads[0]
        existing = next(iter(_stored(mailbox, {digest}, {head.message_id} - {""})), None)
        if existing is None:
            raise
        return [(existing, False)]
    return results


def receive(*, mailbox: Mailbox, raw_bytes: bytes, source: str) -> tuple[InboundEmail, bool]:
    """Store a received message, then (after commit) queue the processing of the pending
    messages: messages that arrive one at a time but faster than they are processed are
    processed in batches. Returns (row, created): a duplicate is not stored nor processed
    again."""
    return receive_many(mailbox=mailbox, raws=[raw_bytes], source=source)[0]


def receive_raw(*, mailbox: Mailbox, raw_bytes: bytes, source: str) -> InboundEmail:
    """What every way in calls: `receive` without the duplicate flag."""
    return receive(mailbox=mailbox, raw_bytes=raw_bytes, source=source)[0]


def receive_many(
    *, mailbox: Mailbox, raws: Sequence[bytes], source: str
) -> list[tuple[InboundEmail, bool]]:
    """`receive` for messages that arrive together (an IMAP poll): stored in one
    transaction, then as many `process_pending` tasks queued as it takes to process the
    new ones. Every way in queues the same task: stored messages are claimed for
    processing one way only."""
    with transaction.atomic():
        results = store_many(mailbox=mailbox, raws=raws, source=source)
        new = sum(1 for _row, created in results if created)
        if new:
            from helpline.mail.tasks import process_pending_task

            for _task in range(-(-new // PENDING_LIMIT)):
                transaction.on_commit(lambda: enqueue(process_pending_task))
    return results


# --- processing ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    state: str
    reason: str = ""
    detail: str = ""
    ticket: Ticket | None = None
    message: Message | None = None


@dataclass
class _Pending:
    """A message that opens a new ticket, written with the batch's other new tickets."""

    row: InboundEmail
    parsed: parsing.ParsedEmail
    plan: bulk.TicketPlan
    follow_up_of: Ticket | None = None


class _Reject(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class _Batch:
    """What the messages of one transaction share: lookups made once for all of them."""

    parsed: dict[int, parsing.ParsedEmail] = field(default_factory=dict)
    raw: dict[int, bytes] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    # Message-ID -> (inbound id, ticket id, ticket message id) of the first row that made a
    # ticket message.
    made: dict[str, tuple[int, int | None, int | None]] = field(default_factory=dict)
    # New tickets not written yet (`flush`), in message order.
    pending: list[_Pending] = field(default_factory=list)
    # Addresses without a user (looked up at load), and the new customers not saved yet:
    # a batch of several messages saves its new people together (`save_people`).
    unknown: set[str] = field(default_factory=set)
    new_people: list[User] = field(default_factory=list)
    defer_people: bool = False
    # Which tickets the Message-IDs the batch's messages name belong to.
    threads: _Threads = field(default_factory=lambda: _Threads({}, {}))
    # Per sender, the messages that became ticket messages within the rate window.
    recent: dict[str, int] = field(default_factory=dict)
    # Rows with their outcome, saved together at the end of the batch.
    finished: list[InboundEmail] = field(default_factory=list)
    _own: set[str] | None = None

    @classmethod
    def load(cls, rows: list[InboundEmail]) -> _Batch:
        batch = cls(raw=blobs.read(InboundRaw, "data", [row.pk for row in rows]))
        for row in rows:
            raw = batch.raw[row.pk]
            oversize = row.size > max_message_bytes()
            batch.parsed[row.pk] = (
                parsing.parse_headers_only(raw) if oversize else parsing.parse(raw)
            )
        addresses: set[str] = set()
        message_ids: set[str] = set()
        named: set[str] = set()
        for row in rows:
            parsed = batch.parsed[row.pk]
            addresses.update([parsed.sender, *parsed.to[:MAX_WATCHERS], *parsed.cc[:MAX_WATCHERS]])
            message_ids.add(parsed.message_id or row.message_id)
            named.update(parsed.thread_ids)
            if parsed.bounce is not None:
                named.add(parsed.bounce.original_message_id)
        addresses.discard("")
        message_ids.discard("")
        batch.threads = _Threads.load(named)
        batch.recent = _recent_by_sender(
            {parsed.sender for parsed in batch.parsed.values()} - {""}, [row.pk for row in rows]
        )
        if addresses:
            for user in User.objects.filter(email__in=addresses).order_by("-id"):
                batch.users[user.email] = user
            # Addresses are lower case; a user stored in another case is found too (a few
            # hundred terms per query: SQLite limits the depth of an expression).
            missing = sorted(addresses - set(batch.users))
            for start in range(0, len(missing), 200):
                terms = [Q(email__iexact=address) for address in missing[start : start + 200]]
                for user in User.objects.filter(reduce(operator.or_, terms)).order_by("-id"):
                    batch.users[user.email.lower()] = user
            batch.unknown = set(missing) - set(batch.users)
        batch.defer_people = len(rows) > 1
        if message_ids:
            made = InboundEmail.objects.filter(
                message_id__in=message_ids, ticket_message__isnull=False
            ).order_by("-id")
            for pk, message_id, ticket_id, message_pk in made.values_list(
                "pk", "message_id", "ticket_id", "ticket_message_id"
            ):
                batch.made[message_id] = (pk, ticket_id, message_pk)
        return batch

    @property
    def own(self) -> set[str]:
        """Our own mailbox addresses, lower case."""
        if self._own is None:
            self._own = {
                address.lower() for address in Mailbox.objects.values_list("address", flat=True)
            }
        return self._own

    def finish(self, row: InboundEmail, outcome: _Outcome) -> None:
        """Record the row's outcome (saved by `save_finished`), and what later messages of
        the batch need to know of it: the first ticket message of its Message-ID, the
        ticket of its Message-ID, its sender's count."""
        _outcome(row, outcome)
        self.finished.append(row)
        known = self.made.get(row.message_id)
        if row.message_id and row.ticket_message_id and (known is None or known[0] > row.pk):
            self.made[row.message_id] = (row.pk, row.ticket_id, row.ticket_message_id)
        if row.message_id and row.ticket_id:
            self.threads.received[row.message_id] = row.ticket_id
        if row.state == State.PROCESSED:
            self.recent[row.sender] = self.recent.get(row.sender, 0) + 1

    def save_finished(self) -> None:
        finished, self.finished = self.finished, []
        _save_finished(finished)

    def waits_for(self, row: InboundEmail, parsed: parsing.ParsedEmail) -> bool:
        """Whether this message may depend on a pending new ticket (it is a duplicate of its
        message, answers it, names a ticket number, is a bounce, or has the same subject
        with a reply prefix): write those first."""
        if not self.pending:
            return False
        ids = {item.row.message_id for item in self.pending} - {""}
        if (parsed.message_id or row.message_id) in ids or ids.intersection(parsed.thread_ids):
            return True
        if parsed.bounce is not None or parsing.TICKET_TOKEN.search(parsed.subject):
            return True
        if parsing.SUBJECT_PREFIX.match(parsed.subject):
            wanted = parsing.normalized_subject(parsed.subject)
            if any(parsing.normalized_subject(i.plan.subject) == wanted for i in self.pending):
                return True
        return False

    def flush(self) -> None:
        """Write the pending new tickets together (with their messages, attachments,
        watchers, audit entries and events), then finish their rows."""
        self.save_people()
        pending, self.pending = self.pending, []
        if not pending:
            return
        created = bulk.ticket_create_planned([item.plan for item in pending])
        for item, (ticket, message) in zip(pending, created, strict=True):
            if item.follow_up_of is not None:
                tickets.ticket_link(
                    actor=system_user(),
                    ticket=ticket,
                    other=item.follow_up_of,
                    kind=TicketLink.Kind.FOLLOW_UP,
                )
            self.finish(item.row, _Outcome(State.PROCESSED, ticket=ticket, message=message))

    def save_people(self) -> None:
        """Save the new customers met so far (before they act or tickets name them)."""
        people, self.new_people = self.new_people, []
        accounts.customers_create_many(users=people)


def process_inbound(inbound_id: int) -> InboundEmail | None:
    """Turn one stored message into a ticket message, a note, or a recorded rejection.

    Safe to call any number of times: a processed or rejected row is left alone."""
    with transaction.atomic():
        row = (
            InboundEmail.objects.select_for_update()
            .only("id", "state", "attempts")
            .filter(pk=inbound_id)
            .first()
        )
        if row is None:
            return None
        if row.state not in FINAL_STATES:
            row.attempts += 1
            row.state = State.PROCESSING
            row.save(update_fields=["attempts", "state", "updated_at"])
    if row.state not in FINAL_STATES:
        _process_batch([inbound_id])
    return InboundEmail.objects.get(pk=inbound_id)


def process_many(inbound_ids: Sequence[int]) -> None:
    """`process_inbound` for many stored messages, in id order, a batch per transaction
    (`replay`: an operator's choice of messages; new mail goes through `process_pending`).

    A message already tried before (a retry after a failure or a crash) is processed
    alone, so one that kills the worker cannot keep the others of its batch from going
    through."""
    ids = sorted(set(inbound_ids))
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction.atomic():
            claimed = _claim(
                InboundEmail.objects.select_for_update()
                .filter(pk__in=ids[start : start + BATCH_SIZE])
                .exclude(state__in=FINAL_STATES)
            )
        _process_claimed(claimed)


def process_pending(*, limit: int = PENDING_LIMIT) -> int:
    """Process the stored messages not tried yet, oldest first, a batch per transaction
    (at most `limit` of them): what every way in queues after storing. Rows another worker
    is claiming are left to it. Returns how many messages this call took."""
    taken = 0
    while taken < limit:
        with transaction.atomic():
            claimed = _claim(
                InboundEmail.objects.select_for_update(skip_locked=True).filter(
                    state=State.RECEIVED, attempts=0
                ),
                limit=min(BATCH_SIZE, limit - taken),
            )
        if not claimed:
            break
        _process_claimed(claimed)
        taken += len(claimed)
    return taken


def _claim(rows: Any, *, limit: int | None = None) -> list[tuple[int, int, int]]:
    """(id, attempts, size) of the rows, in id order, the ones not tried before marked as
    being processed (committed before processing: a crash leaves them tried once)."""
    claimed = list(rows.order_by("id").values_list("id", "attempts", "size")[:limit])
    fresh = [pk for pk, attempts, _size in claimed if not attempts]
    InboundEmail.objects.filter(pk__in=fresh).update(
        attempts=F("attempts") + 1, state=State.PROCESSING, updated_at=timezone.now()
    )
    return claimed


def _process_claimed(claimed: list[tuple[int, int, int]]) -> None:
    """Process claimed rows: the fresh ones together (at most `BATCH_BYTES` of raw
    messages per batch), one tried before alone."""
    batch: list[int] = []
    size = 0
    for pk, attempts, row_size in claimed:
        if batch and (attempts or size + row_size > BATCH_BYTES):
            _process_batch(batch)
            batch, size = [], 0
        if attempts:
            process_inbound(pk)
        else:
            batch.append(pk)
            size += row_size
    if batch:
        _process_batch(batch)


def _process_batch(inbound_ids: list[int]) -> None:
    """Process claimed rows in one transaction, reading the desk's configuration (custom
    fields, routing rules, default team) once; the events they emit are pushed and queued
    together after the commit. When a message fails, the batch is undone and its messages
    are processed one by one, so only that one is recorded as failed."""
    try:
        with memoized(), dispatch_together(), transaction.atomic():
            rows = list(
                InboundEmail.objects.select_related("mailbox__team", "mailbox__category")
                .select_for_update(of=("self",))
                .filter(pk__in=inbound_ids)
                .exclude(state__in=FINAL_STATES)
                .order_by("id")
            )
            batch = _Batch.load(rows)
            for row in rows:
                parsed = batch.parsed[row.pk]
                if batch.waits_for(row, parsed):
                    batch.flush()
                outcome = _process(row, parsed, batch)
                if outcome is not None:  # else a new ticket, written by `flush`
                    batch.finish(row, outcome)
            batch.flush()
            batch.save_finished()
    except Exception as exc:
        if len(inbound_ids) > 1:
            logger.warning("a batch of inbound e-mail failed; processing it one by one")
            for inbound_id in inbound_ids:
                _process_batch([inbound_id])
            return
        logger.exception("processing inbound e-mail %s failed", inbound_ids[0])
        InboundEmail.objects.filter(pk=inbound_ids[0]).update(
            state=State.FAILED,
            detail=f"{type(exc).__name__}: {exc}"[:4000],
            updated_at=timezone.now(),
        )


FINISHED_FIELDS = (
    "state",
    "rejection_reason",
    "detail",
    "ticket",
    "ticket_message",
    "processed_at",
    "kind",
    "message_id",
    "sender",
    "subject",
    "extra",
    "updated_at",
)


def _outcome(row: InboundEmail, outcome: _Outcome) -> None:
    row.state = outcome.state
    row.rejection_reason = outcome.reason
    row.detail = outcome.detail[:4000]
    row.ticket = outcome.ticket
    row.ticket_message = outcome.message
    row.processed_at = row.updated_at = timezone.now()


def _save_finished(rows: list[InboundEmail]) -> None:
    """`row.save(update_fields=FINISHED_FIELDS)` for many rows (no model signals are
    connected to these rows): on PostgreSQL one UPDATE from a VALUES list, elsewhere one
    statement executed for each row."""
    if len(rows) < 2:
        for row in rows:
            row.save(update_fields=FINISHED_FIELDS)
        return
    meta = InboundEmail._meta
    fields = [cast(Field, meta.get_field(name)) for name in FINISHED_FIELDS]
    quote = connection.ops.quote_name
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    columns = [quote(str(f.column)) for f in fields]
    if connection.vendor == "postgresql":
        values = ", ".join(["(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"] * len(rows))
        sets = ", ".join(
            f"{column} = v.{column}::{f.db_type(connection)}"
            for column, f in zip(columns, fields, strict=True)
        )
        sql = (
            f"UPDATE {quote(meta.db_table)} AS t SET {sets} "  # noqa: S608
            f"FROM (VALUES {values}) AS v({', '.join(columns)}, id) WHERE t.id = v.id::bigint"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in params for value in row])
        return
    sets = ", ".join(f"{column} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _process(row: InboundEmail, parsed: parsing.ParsedEmail, batch: _Batch) -> _Outcome | None:
    oversize = row.size > max_message_bytes()
    row.message_id = parsed.message_id or row.message_id
    row.sender = parsed.sender
    row.subject = parsed.subject
    row.extra = {"defects": parsed.defects[:20]} if parsed.defects else {}
    try:
        if not row.mailbox.is_active:
            raise _Reject("mailbox_inactive", _("The mailbox is switched off."))
        if parsed.bounce is not None:
            row.kind = InboundEmail.Kind.BOUNCE
            return _bounce(row, parsed.bounce, batch)
        if parsed.auto_reply:
            row.kind = InboundEmail.Kind.AUTO_REPLY
            raise _Reject("auto_reply", parsed.auto_reply)
        return _message(row, parsed, oversize, batch)
    except _Reject as reject:
        return _Outcome(State.REJECTED, reject.reason, reject.detail)


def _message(
    row: InboundEmail, parsed: parsing.ParsedEmail, oversize: bool, batch: _Batch
) -> _Outcome | None:
    """The outcome, or None for a new ticket (added to the batch's pending ones)."""
    if not parsed.sender:
        raise _Reject("no_sender", _("The message has no usable sender address."))
    if parsed.sender.lower() in batch.own:
        raise _Reject("own_address", _("The message comes from one of our own mailboxes."))
    _check_rate(row, batch)
    duplicate = _duplicate(row, batch)
    if duplicate is not None:
        return duplicate
    customer = _person(parsed.sender, parsed.sender_name, batch)
    if customer is None or not customer.is_active:
        raise _Reject("invalid_sender", _("The sender cannot be a requester: %s") % parsed.sender)
    text, html, attachments = _content(row, parsed, oversize)
    ticket = _thread(parsed, customer, batch)
    follow_up_of: Ticket | None = None
    if ticket is not None and ticket.status == Status.CLOSED:
        if not row.mailbox.follow_up_on_closed:
            raise _Reject("ticket_closed", _("Reply to closed ticket #%d.") % ticket.pk)
        follow_up_of, ticket = ticket, None
    try:
        if ticket is not None:
            if customer.pk is None:
                batch.save_people()
            message = tickets.ticket_reply(
                actor=customer,
                ticket=ticket,
                body=text,
                body_html=html,
                attachments=attachments,
                channel=Channel.EMAIL,
            )
            return _Outcome(State.PROCESSED, ticket=ticket, message=message)
        plan = _plan_ticket(row, parsed, customer, text, html, attachments)
    except DomainError as exc:
        raise _Reject("invalid_content", exc.message) from None
    if row.mailbox.cc_as_watchers:
        others = [a for a in [*parsed.to, *parsed.cc] if a not in batch.own and a != parsed.sender]
        for address in list(dict.fromkeys(others))[:MAX_WATCHERS]:
            watcher = _person(address, "", batch)
            if watcher is not None and watcher.is_active:
                plan.watchers.append(watcher)
    batch.pending.append(_Pending(row, parsed, plan, follow_up_of))
    return None


def _plan_ticket(
    row: InboundEmail,
    parsed: parsing.ParsedEmail,
    customer: User,
    text: str,
    html: str,
    attachments: list[tickets.AttachmentIn],
) -> bulk.TicketPlan:
    """The new ticket as the customer's `ticket_create` in the mailbox's team, validated."""
    mailbox = row.mailbox
    category = mailbox.category if mailbox.category and mailbox.category.is_active else None
    return bulk.ticket_plan(
        actor=customer,
        item=bulk.NewTicket(
            subject=parsed.subject[:250].strip() or _("(no subject)"),
            body=text,
            body_html=html,
            channel=Channel.EMAIL,
            category=category,
            routed_team=mailbox.team,
            attachments=attachments,
        ),
    )


def _rate_limit() -> tuple[int, int]:
    """(messages, seconds) per sender; 0 messages: no limit."""
    limit, _sep, window = str(_setting("HELPLINE_MAIL_SENDER_RATE", "30/3600")).partition("/")
    return (int(limit) if limit else 0), int(window or 3600)


def _recent_by_sender(senders: set[str], excluded: list[int]) -> dict[str, int]:
    """Per sender, the stored messages that became ticket messages within the rate window
    (`excluded`: the batch's own rows)."""
    limit, window = _rate_limit()
    if limit <= 0 or not senders:
        return {}
    rows = (
        InboundEmail.objects.filter(
            sender__in=senders,
            received_at__gte=timezone.now() - timedelta(seconds=window),
            state=State.PROCESSED,
        )
        .exclude(pk__in=excluded)
        .values_list("sender")
        .annotate(count=Count("id"))
    )
    return dict(rows.order_by())


def _check_rate(row: InboundEmail, batch: _Batch) -> None:
    """At most N messages per sender per window become ticket messages (mail storms): the
    ones stored before, the batch's finished ones and its pending new tickets."""
    limit, window = _rate_limit()
    if limit <= 0:
        return
    pending = sum(1 for item in batch.pending if item.row.sender == row.sender)
    if batch.recent.get(row.sender, 0) + pending >= limit:
        raise _Reject(
            "rate_limited",
            _("More than %(limit)s messages from %(sender)s in %(window)s seconds.")
            % {"limit": limit, "sender": row.sender, "window": window},
        )


def _duplicate(row: InboundEmail, batch: _Batch) -> _Outcome | None:
    """The same message delivered to two of our mailboxes makes one ticket message."""
    first = batch.made.get(row.message_id) if row.message_id else None
    if first is None or first[0] == row.pk:
        return None
    return _Outcome(
        State.PROCESSED,
        detail=_("Same message as inbound e-mail %d.") % first[0],
        ticket=Ticket.objects.filter(pk=first[1]).first() if first[1] else None,
        message=Message.objects.filter(pk=first[2]).first() if first[2] else None,
    )


def _person(address: str, name: str, batch: _Batch) -> User | None:
    """The user with this address, or a new customer (organisation matched by domain); in
    a batch of several messages the new customer is saved with the batch's others."""
    user = batch.users.get(address)
    if user is None and address not in batch.unknown:
        user = User.objects.filter(email__iexact=address).first()
    if user is None and batch.defer_people:
        try:
            user = accounts.customer_build(email=address, display_name=name[:200])
        except ValidationError:
            return None
        batch.new_people.append(user)
    if user is None:
        try:
            user = accounts.user_create(actor=None, email=address, display_name=name[:200])
        except Conflict:
            user = User.objects.filter(email__iexact=address).first()
        except ValidationError:
            return None
    if user is not None:
        batch.users[address] = user
    return user


def system_user() -> User:
    """The author of notes the mail system writes (bounces); cannot sign in."""
    user = User.objects.filter(email=SYSTEM_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            SYSTEM_EMAIL, None, role=Role.AGENT, display_name=_("Mail system"), is_active=False
        )
    return user


# --- content -------------------------------------------------------------------------------


def _content(
    row: InboundEmail, parsed: parsing.ParsedEmail, oversize: bool
) -> tuple[str, str, list[tickets.AttachmentIn]]:
    notices: list[str] = []
    if oversize:
        notices.append(
            _(
                "This message (%(size)s bytes) is larger than the limit of %(limit)s bytes; "
                "it is kept unchanged as the original e-mail #%(id)s."
            )
            % {"size": row.size, "limit": max_message_bytes(), "id": row.pk}
        )
    attachments, skipped = _attachments(parsed)
    for name, why in skipped:
        notices.append(
            _(
                "Attachment %(name)s was not added (%(why)s); "
                "it is kept in the original e-mail #%(id)s."
            )
            % {"name": name, "why": why, "id": row.pk}
        )
    inline = {
        a.content_id.lower(): hashlib.sha256(a.data).hexdigest()
        for a in parsed.attachments
        if a.content_id and any(a.data is kept.data for kept in attachments)
    }
    html = parsed.html
    if inline and html:
        row.extra["inline"] = inline
        urls = {
            cid: reverse("mail:inline", args=[row.pk]) + "?cid=" + quote(cid, safe="")
            for cid in inline
        }
        html = parsing.rewrite_cids(html, urls)
    text = parsed.text.strip()
    if len(text) > tickets.MAX_BODY_CHARS - 2000:
        text = text[: tickets.MAX_BODY_CHARS - 2000]
        notices.append(_("The text was cut; the full text is in the original e-mail."))
    if len(html) > tickets.MAX_BODY_CHARS * 2 - 4000:
        html = ""
        notices.append(_("The formatted version was too large; the original e-mail has it."))
    if not html and text:
        html = parsing.text_to_html(text)
    if notices:
        row.extra["notices"] = notices
        notice_text = "\n".join(f"[{n}]" for n in notices)
        text = f"{notice_text}\n\n{text}" if text else notice_text
        if html:
            html = "".join(f"<p><strong>{n}</strong></p>" for n in notices) + html
    if not text:
        text = _("(This message has no text.)")
    return text, html, attachments


def _attachments(
    parsed: parsing.ParsedEmail,
) -> tuple[list[tickets.AttachmentIn], list[tuple[str, str]]]:
    limit = settings.HELPLINE_MAX_ATTACHMENT_BYTES
    blocked = {ext.lower() for ext in settings.HELPLINE_BLOCKED_ATTACHMENT_EXTENSIONS}
    kept: list[tickets.AttachmentIn] = []
    skipped: list[tuple[str, str]] = []
    for item in parsed.attachments:
        if len(item.data) > limit:
            skipped.append((item.filename, _("larger than %d bytes") % limit))
        elif os.path.splitext(item.filename.lower())[1] in blocked:
            skipped.append((item.filename, _("file type not accepted")))
        elif len(kept) >= tickets.MAX_ATTACHMENTS:
            skipped.append((item.filename, _("too many attachments")))
        else:
            kept.append(tickets.AttachmentIn(item.filename, item.content_type, item.data))
    return kept, skipped


# --- threading -----------------------------------------------------------------------------


@dataclass
class _Threads:
    """Which ticket a Message-ID belongs to: of a message we received (the latest row with a
    ticket), or of an e-mail we sent."""

    received: dict[str, int]
    sent: dict[str, int]

    @classmethod
    def load(cls, message_ids: Iterable[str]) -> _Threads:
        wanted = sorted(set(message_ids) - {""})
        threads = cls({}, {})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = InboundEmail.objects.filter(message_id__in=chunk, ticket__isnull=False)
            threads.received.update(rows.order_by("id").values_list("message_id", "ticket_id"))
            threads.sent.update(sent_tickets(chunk))
        return threads

    def ticket(self, message_ids: list[str]) -> Ticket | None:
        """Ticket of a message we received or sent, In-Reply-To first."""
        if not message_ids:
            return None
        if message_ids[0] in self.received:
            return _live(self.received[message_ids[0]])
        for message_id in message_ids:
            sent = self.sent.get(normalize_message_id(message_id))
            if sent is not None:
                return _live(sent)
        for message_id in message_ids:
            if message_id in self.received:
                return _live(self.received[message_id])
        return None


def _live(ticket_id: int | None) -> Ticket | None:
    """The ticket, or the one it was merged into."""
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    for _hop in range(10):
        if ticket is None or ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.filter(pk=ticket.merged_into_id).first()
    return ticket


def find_ticket_for_ids(message_ids: list[str]) -> Ticket | None:
    """Ticket of a message we received or sent, In-Reply-To first."""
    return _Threads.load(message_ids).ticket(message_ids)


def _may_use_token(ticket: Ticket, user: User) -> bool:
    """A `[#123]` token is guessable: only people already on the ticket may use it."""
    if user.is_staff_member or ticket.requester_id == user.pk:
        return True
    if ticket.watchers.filter(pk=user.pk).exists():
        return True
    org = ticket.organization
    return bool(
        org is not None
        and org.members_see_all_tickets
        and user.organization_id == org.pk
        and user.see_organization_tickets
    )


def _thread(parsed: parsing.ParsedEmail, customer: User, batch: _Batch) -> Ticket | None:
    ids = [mid for mid in parsed.thread_ids if mid != parsed.message_id]
    ticket = batch.threads.ticket(ids)
    if ticket is not None:
        return ticket
    for number in parsing.TICKET_TOKEN.findall(parsed.subject):
        candidate = _live(int(number))
        if candidate is not None and _may_use_token(candidate, customer):
            return candidate
    return _subject_match(parsed, customer)


def _subject_match(parsed: parsing.ParsedEmail, customer: User) -> Ticket | None:
    """Conservative: a reply-prefixed subject equal to an open e-mail ticket of the same
    requester, active within the window."""
    if customer.pk is None or not parsing.SUBJECT_PREFIX.match(parsed.subject):
        return None  # (a customer not saved yet has no tickets)
    wanted = parsing.normalized_subject(parsed.subject)
    if len(wanted) < 4:
        return None
    days = int(_setting("HELPLINE_MAIL_THREAD_WINDOW_DAYS", 7))
    candidates = (
        Ticket.objects.filter(
            requester=customer,
            channel=Channel.EMAIL,
            updated_at__gte=timezone.now() - timedelta(days=days),
            merged_into__isnull=True,
        )
        .exclude(status=Status.CLOSED)
        .order_by("-updated_at")[:20]
    )
    for ticket in candidates:
        if parsing.normalized_subject(ticket.subject) == wanted:
            return ticket
    return None


# --- bounces -------------------------------------------------------------------------------


def _bounce(row: InboundEmail, bounce: parsing.Bounce, batch: _Batch) -> _Outcome:
    now = timezone.now()
    reason = " ".join(filter(None, [bounce.status, bounce.diagnostic]))[:2000]
    for address in dict.fromkeys(bounce.failed):
        status, _created = SenderStatus.objects.select_for_update().get_or_create(
            address=address[:254]
        )
        status.failing = True
        status.bounce_count += 1
        status.last_bounce_at = now
        status.last_bounce_reason = reason
        status.save(
            update_fields=["failing", "bounce_count", "last_bounce_at", "last_bounce_reason"]
        )
    ids = [bounce.original_message_id] if bounce.original_message_id else []
    ticket = batch.threads.ticket(ids)
    if ticket is None:
        raise _Reject("bounce_unmatched", _("Bounce for a message that is not ours: %s") % reason)
    recipients = ", ".join(bounce.failed or bounce.delayed) or _("unknown recipient")
    body = _("Delivery failed to %(recipients)s. %(reason)s") % {
        "recipients": recipients,
        "reason": reason,
    }
    attachments = []
    raw = batch.raw[row.pk]
    if len(raw) <= settings.HELPLINE_MAX_ATTACHMENT_BYTES:
        attachments.append(tickets.AttachmentIn("bounce.eml", "message/rfc822", raw))
    note = tickets.ticket_add_note(
        actor=system_user(), ticket=ticket, body=body, attachments=attachments
    )
    return _Outcome(State.PROCESSED, detail=body, ticket=ticket, message=note)


# --- replay --------------------------------------------------------------------------------


def replay(*, ids: list[int] | None = None, states: list[str] | None = None) -> list[int]:
    """Process the selected stored messages again (failed, stuck or rejected ones), a batch
    at a time. Rows that already made a ticket message are never processed twice."""
    rows = InboundEmail.objects.filter(ticket_message__isnull=True)
    if ids:
        rows = rows.filter(pk__in=ids)
    if states:
        rows = rows.filter(state__in=states)
    elif not ids:
        rows = rows.filter(state__in=[State.FAILED, State.RECEIVED, State.PROCESSING])
    done = list(rows.order_by("id").values_list("id", flat=True))
    for start in range(0, len(done), BATCH_SIZE):
        batch = done[start : start + BATCH_SIZE]
        InboundEmail.objects.filter(pk__in=batch, ticket_message__isnull=True).update(
            state=State.RECEIVED, rejection_reason=""
        )
        process_many(batch)
    return done


def stale_ids(*, older_than: timedelta, max_attempts: int = 5) -> list[int]:
    """Messages whose processing was lost (crash) or failed and may be retried."""
    cutoff = timezone.now() - older_than
    rows = InboundEmail.objects.filter(
        Q(state__in=[State.RECEIVED, State.PROCESSING]) | Q(state=State.FAILED),
        updated_at__lt=cutoff,
        attempts__lt=max_attempts,
    )
    return list(rows.order_by("id").values_list("id", flat=True)[:500])


# --- mailbox secrets -----------------------------------------------------------------------


def mailbox_set_imap_secret(*, mailbox: Mailbox, secret: str) -> None:
    """Store the IMAP password or OAuth2 token, encrypted."""
    from helpline.mail import secrets

    mailbox.imap_secret_encrypted = secrets.encrypt(secret)
    mailbox.save(update_fields=["imap_secret_encrypted"])


def mailbox_new_http_secret(*, mailbox: Mailbox) -> str:
    """A new secret for the HTTP endpoint of this mailbox; only its digest is stored."""
    import secrets

    plain = "hlm_" + secrets.token_urlsafe(32)
    mailbox.http_secret_digest = hashlib.sha256(plain.encode()).hexdigest()
    mailbox.save(update_fields=["http_secret_digest"])
    return plain


def mailbox_secret_matches(mailbox: Mailbox, secret: str) -> bool:
    import hmac

    if not mailbox.http_secret_digest or not secret:
        return False
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(digest, mailbox.http_secret_digest)


# --- mailboxes -----------------------------------------------------------------------------


MAILBOX_FIELDS = frozenset(
    {
        "name",
        "team",
        "category",
        "is_active",
        "way",
        "imap_host",
        "imap_port",
        "imap_security",
        "imap_username",
        "imap_auth",
        "imap_folder",
        "processed_action",
        "processed_folder",
        "follow_up_on_closed",
        "cc_as_watchers",
    }
)


def require_admin(actor: User | None) -> None:
    if actor is None or actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators manage mailboxes."))


def _value(value: Any) -> Any:
    """A field value as it goes into an event payload (related rows by id)."""
    return getattr(value, "pk", value)


def _check(mailbox: Mailbox) -> None:
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    mailbox.address = (mailbox.address or "").strip().lower()
    try:
        validate_email(mailbox.address)
    except DjangoValidationError:
        raise ValidationError(_("Invalid address."), fields={"address": "invalid"}) from None
    choices = {
        "way": Mailbox.Way.values,
        "imap_security": Mailbox.Security.values,
        "imap_auth": Mailbox.Auth.values,
        "processed_action": Mailbox.Processed.values,
    }
    for name, allowed in choices.items():
        if getattr(mailbox, name) not in allowed:
            raise ValidationError(
                _("Unknown value."), fields={name: f"one of {', '.join(allowed)}"}
            )
    if not 0 < int(mailbox.imap_port or 0) < 65536:
        raise ValidationError(_("Invalid port."), fields={"imap_port": "invalid"})
    if mailbox.way == Mailbox.Way.IMAP and not (mailbox.imap_host and mailbox.imap_username):
        raise ValidationError(
            _("An IMAP mailbox needs a host and a user name."),
            fields={"imap_host": "required", "imap_username": "required"},
        )
    if mailbox.processed_action == Mailbox.Processed.MOVE and not mailbox.processed_folder:
        raise ValidationError(
            _("Moving processed mail needs a folder."), fields={"processed_folder": "required"}
        )


def _write(
    *, actor: User | None, mailbox: Mailbox, imap_secret: str | None, fields: dict[str, Any]
) -> Mailbox:
    """Apply `fields` (and the secret: None keeps it, "" clears it), validate, save, emit."""
    from helpline.core.events import emit
    from helpline.mail import events, secrets

    unknown = set(fields) - MAILBOX_FIELDS - {"address"}
    if unknown:
        raise ValidationError(
            _("Unknown fields."), fields={name: "unknown" for name in sorted(unknown)}
        )
    created = mailbox.pk is None
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        old = getattr(mailbox, name)
        setattr(mailbox, name, value)
        if _value(old) != _value(value):
            changes[name] = [_value(old), _value(value)]
    _check(mailbox)
    if "address" in changes:
        changes["address"][1] = mailbox.address
    if imap_secret is not None:
        mailbox.imap_secret_encrypted = secrets.encrypt(imap_secret)
        changes["imap_secret"] = ["", ""]
    with transaction.atomic():
        try:
            with transaction.atomic():
                mailbox.save()
        except IntegrityError:
            raise ValidationError(
                _("Another mailbox has this address."), fields={"address": "taken"}
            ) from None
        aggregate = ("mailbox", mailbox.pk)
        if created:
            event: Any = events.MailboxCreated(mailbox_id=mailbox.pk, address=mailbox.address)
            emit(event, actor=actor, aggregate=aggregate)
        elif changes:
            event = events.MailboxUpdated(mailbox_id=mailbox.pk, changes=changes)
            emit(event, actor=actor, aggregate=aggregate)
    return mailbox


def mailbox_save(*, address: str, imap_secret: str | None = None, **fields: Any) -> Mailbox:
    """Create or change the mailbox of `address` (the `helpline mail add` command)."""
    key = address.strip().lower()
    mailbox = Mailbox.objects.filter(address=key).first() or Mailbox(address=key)
    return _write(actor=None, mailbox=mailbox, imap_secret=imap_secret, fields=fields)


def mailbox_create(
    *, actor: User, address: str, imap_secret: str | None = None, **fields: Any
) -> Mailbox:
    """Add a mailbox (admins). A taken address is a 422 on `address`."""
    require_admin(actor)
    return _write(
        actor=actor,
        mailbox=Mailbox(),
        imap_secret=imap_secret or None,
        fields={"address": address, **fields},
    )


def mailbox_update(
    *, actor: User, mailbox: Mailbox, imap_secret: str | None = None, **fields: Any
) -> Mailbox:
    """Change a mailbox (admins). `imap_secret` None keeps the stored one, "" clears it."""
    require_admin(actor)
    return _write(actor=actor, mailbox=mailbox, imap_secret=imap_secret, fields=fields)


def mailbox_delete(*, actor: User, mailbox: Mailbox) -> bool:
    """Delete a mailbox that never received mail (True); one with stored mail is only
    deactivated (False), so its raw messages stay."""
    from helpline.core.events import emit
    from helpline.mail import events

    require_admin(actor)
    if InboundEmail.objects.filter(mailbox=mailbox).exists():
        mailbox_update(actor=actor, mailbox=mailbox, is_active=False)
        return False
    with transaction.atomic():
        mailbox_id = mailbox.pk
        mailbox.delete()
        emit(
            events.MailboxDeleted(mailbox_id=mailbox_id, address=mailbox.address),
            actor=actor,
            aggregate=("mailbox", mailbox_id),
        )
    return True


def mailbox_rotate_http_secret(*, actor: User, mailbox: Mailbox) -> str:
    """A new secret for the mailbox's HTTP endpoint (admins); returned once, never stored."""
    from helpline.core.events import emit
    from helpline.mail import events

    require_admin(actor)
    with transaction.atomic():
        plain = mailbox_new_http_secret(mailbox=mailbox)
        emit(
            events.MailboxHttpSecretRotated(mailbox_id=mailbox.pk),
            actor=actor,
            aggregate=("mailbox", mailbox.pk),
        )
    return plain


def mailbox_replay_failed(*, actor: User, mailbox: Mailbox, limit: int = 100) -> list[int]:
    """Process the mailbox's failed messages again (admins; the oldest `limit` of them)."""
    require_admin(actor)
    ids = list(
        InboundEmail.objects.filter(mailbox=mailbox, state=State.FAILED)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return replay(ids=ids) if ids else []
