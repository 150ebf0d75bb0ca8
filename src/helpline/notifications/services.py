"""Outbound e-mail: queue a rendered e-mail, deliver it over SMTP, retry with backoff.

`queue_email` renders an e-mail for one recipient in their language, gives it a Message-ID
of our domain with In-Reply-To and References of the ticket's thread, stores it as an
`OutboundEmail` and enqueues delivery after commit. `deliver_many` (`deliver` for one)
claims due e-mails with a lease (a compare-and-set update, safe with several workers),
sends them through a Django mail backend (the sender identity's SMTP account, else
EMAIL_BACKEND) and records each outcome: sent; retrying at `now + base * 2**(attempts-1)`
after a temporary failure (4xx answer, connection trouble); failed after a permanent one
(5xx answer) or when the attempts run out, with the server's answer kept in `last_error`.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import select_template
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpline.accounts.models import Role, User
from helpline.core.errors import PermissionDenied, ValidationError
from helpline.core.tasks import enqueue
from helpline.notifications import peers, secrets
from helpline.notifications.models import (
    NOTIFICATION_KINDS,
    Kind,
    NotificationPreference,
    OutboundEmail,
    SenderIdentity,
)
from helpline.notifications.selectors import preferences_for
from helpline.tickets.models import AuditEntry, Message, Ticket

logger = logging.getLogger(__name__)

TEMPLATE_LANGUAGES = ("en", "ru", "zh")
# The Django language activated while rendering (dates, numbers) for each template language.
_DJANGO_LANGUAGE = {"en": "en", "ru": "ru", "zh": "zh-hans"}
MAX_REFERENCES = 20
# Notifications are automatic: mark them so that auto-responders do not answer (RFC 3834).
AUTO_SUBMITTED: dict[str, str] = {
    Kind.REPLY: "",
    Kind.TICKET_RECEIVED: "auto-replied",
    Kind.SOLVED: "auto-generated",
    Kind.ASSIGNED: "auto-generated",
    Kind.CUSTOMER_REPLIED: "auto-generated",
}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def retry_base_seconds() -> int:
    return int(_setting("HELPLINE_MAIL_RETRY_BASE_SECONDS", 60))


def max_attempts() -> int:
    return int(_setting("HELPLINE_MAIL_MAX_ATTEMPTS", 8))


def lease_seconds() -> int:
    return int(_setting("HELPLINE_MAIL_SEND_LEASE_SECONDS", 300))


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones: base, 2x base, 4x base..."""
    return timedelta(seconds=retry_base_seconds() * 2 ** max(attempts - 1, 0))


# --- sender identities ------------------------------------------------------------------------


def identity_for_ticket(ticket: Ticket | None) -> SenderIdentity | None:
    """The active identity of the address the ticket was written to (its first e-mail's
    mailbox), else its team's, else the default one, else None (the settings)."""
    if ticket is None:
        return _Senders().for_team(None)
    return _Senders([ticket.pk]).for_ticket(ticket)


_IDENTITY_FIELDS = (
    "name",
    "address",
    "display_name",
    "team",
    "is_default",
    "is_active",
    "host",
    "port",
    "security",
    "username",
    "timeout",
    *(f"notify_{kind}" for kind in NOTIFICATION_KINDS),
)


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators manage sender identities."))


def sender_identity_save(
    *,
    actor: User,
    identity: SenderIdentity | None = None,
    password: str | None = None,
    **fields: Any,
) -> SenderIdentity:
    """Create (identity None) or change a sender identity. `password` None keeps the stored
    one, "" clears it. Making one identity the default takes the flag from the others."""
    require_admin(actor)
    unknown = set(fields) - set(_IDENTITY_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown fields."), fields={name: "unknown" for name in sorted(unknown)}
        )
    if "security" in fields and fields["security"] not in SenderIdentity.Security.values:
        raise ValidationError(_("Unknown security mode."), fields={"security": "invalid"})
    if "port" in fields and not 0 < int(fields["port"]) < 65536:
        raise ValidationError(_("Invalid port."), fields={"port": "invalid"})
    with transaction.atomic():
        target = identity or SenderIdentity()
        for name, value in fields.items():
            setattr(target, name, value)
        if password is not None:
            target.password_encrypted = secrets.encrypt(password)
        target.address = (target.address or "").strip().lower()
        try:
            validate_email(target.address)
        except DjangoValidationError:
            raise ValidationError(
                _("Enter a valid e-mail address."), fields={"address": "invalid"}
            ) from None
        if target.is_default:
            SenderIdentity.objects.filter(is_default=True).exclude(pk=target.pk).update(
                is_default=False
            )
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError:
            raise ValidationError(
                _("Another identity uses this address or team."),
                fields={"address": "taken", "team": "taken"},
            ) from None
    return target


def smtp_connection(identity: SenderIdentity | None) -> BaseEmailBackend:
    """A mail backend for the identity's SMTP account, or the configured EMAIL_BACKEND."""
    if identity is None or not identity.host:
        return get_connection(fail_silently=False)
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        fail_silently=False,
        host=identity.host,
        port=identity.port,
        username=identity.username or None,
        password=secrets.decrypt(identity.password_encrypted) or None,
        use_tls=identity.security == SenderIdentity.Security.STARTTLS,
        use_ssl=identity.security == SenderIdentity.Security.SSL,
        timeout=identity.timeout,
    )


# --- preferences ------------------------------------------------------------------------------


def preference_set(*, actor: User, changes: dict[str, bool]) -> dict[str, bool]:
    """Switch the actor's own notifications on or off; returns every kind's setting."""
    unknown = [kind for kind in changes if kind not in NOTIFICATION_KINDS]
    if unknown:
        raise ValidationError(
            _("Unknown notification kinds."), fields={kind: "unknown" for kind in unknown}
        )
    with transaction.atomic():
        for kind, enabled in changes.items():
            NotificationPreference.objects.update_or_create(
                user=actor, kind=kind, defaults={"enabled": bool(enabled)}
            )
    return preferences_for(actor)


# --- queueing ---------------------------------------------------------------------------------


def template_language(user: User | None) -> str:
    """en, ru or zh from the user's language (`zh-hans`, `ru-RU`...), else the site's."""
    for candidate in ((user.language if user else "") or "", settings.LANGUAGE_CODE):
        primary = candidate.lower().replace("_", "-").split("-")[0]
        if primary in TEMPLATE_LANGUAGES:
            return primary
    return "en"


def recipient_zone(user: User) -> ZoneInfo | None:
    """The user's time zone for dates in their e-mails; None (the site's) if unset or unknown."""
    try:
        return ZoneInfo(user.time_zone) if user.time_zone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(*, kind: str, language: str, context: dict[str, Any]) -> Rendered:
    """The subject, text and HTML of e-mail `kind` in `language` (English if missing)."""
    languages = [language, "en"] if language != "en" else ["en"]

    def pick(suffix: str) -> Any:
        return select_template([f"notifications/email/{lang}/{kind}{suffix}" for lang in languages])

    with translation.override(_DJANGO_LANGUAGE.get(language, "en")):
        subject = pick("_subject.txt").render(context)
        text = pick(".txt").render(context)
        html = pick(".html").render(context)
    return Rendered(" ".join(subject.split()), text.strip() + "\n", html)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower() or "helpline.localhost"


def new_message_id(address: str) -> str:
    """A fresh Message-ID of our domain, without angle brackets."""
    return make_msgid(domain=_domain(address)).strip("<>")


CUSTOMER_KINDS = (Kind.REPLY, Kind.TICKET_RECEIVED, Kind.SOLVED)
AGENT_KINDS = (Kind.ASSIGNED, Kind.CUSTOMER_REPLIED)


def _thread(theirs: list[str], ours: list[str]) -> tuple[str, list[str]]:
    """(In-Reply-To, References) from the received and our earlier Message-IDs."""
    references: list[str] = []
    for value in [*theirs, *ours]:
        if value and value not in references:
            references.append(value)
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
    in_reply_to = theirs[-1] if theirs else (ours[-1] if ours else "")
    return in_reply_to, references


def _with_token(subject: str, ticket: Ticket) -> str:
    token = f"[#{ticket.pk}]"
    return subject if token in subject else f"{subject} {token}"


def _sender(identity: SenderIdentity | None) -> tuple[str, str]:
    """(From header, bare address)."""
    if identity is None:
        address = settings.DEFAULT_FROM_EMAIL
        return address, address.rpartition("<")[2].rstrip(">").strip()
    if identity.display_name:
        return formataddr((identity.display_name, identity.address)), identity.address
    return identity.address, identity.address


@dataclass(frozen=True)
class EmailRequest:
    """One e-mail for `queue_emails`: as the arguments of `queue_email`."""

    ticket: Ticket
    recipient: User
    dedupe: str
    ticket_message: Message | None = None
    extra: dict[str, Any] | None = None


def queue_email(
    *,
    kind: str,
    ticket: Ticket,
    recipient: User,
    dedupe: str,
    ticket_message: Message | None = None,
    extra: dict[str, Any] | None = None,
) -> OutboundEmail | None:
    """Render and store one e-mail to `recipient`; deliver it after commit. `extra` adds
    to the templates' context (which has the recipient's `time_zone`, None: the site's).

    None when the recipient or the identity switched this kind off, the address is
    failing, or an e-mail with the same `dedupe` key exists (a replayed event)."""
    request = EmailRequest(ticket, recipient, dedupe, ticket_message, extra)
    return queue_emails(kind=kind, requests=[request])[0]


class _Senders:
    """Sender identities and their addresses, and the mailboxes the batch's tickets came
    through, read once for a batch of e-mails."""

    def __init__(self, ticket_ids: Sequence[int] = ()) -> None:
        rows = list(SenderIdentity.objects.order_by("pk"))
        self.active = [row for row in rows if row.is_active]
        self.own = {row.address.strip().lower() for row in rows}
        self.own.add(_sender(None)[1].strip().lower())
        self._by_address = {row.address.strip().lower(): row for row in self.active}
        self._by_team: dict[int | None, SenderIdentity | None] = {}
        self._mailboxes = peers.ticket_mailbox_addresses(list(ticket_ids)) if ticket_ids else {}

    def for_ticket(self, ticket: Ticket) -> SenderIdentity | None:
        """The active identity whose address is the mailbox the ticket's first e-mail came
        through (the address the customer wrote to), else `for_team`. The ticket must be
        one of those the batch was read for."""
        found = self._by_address.get(self._mailboxes.get(ticket.pk, ""))
        return found if found is not None else self.for_team(ticket.team_id)

    def for_team(self, team_id: int | None) -> SenderIdentity | None:
        """The team's active identity, else the default one, else None (the settings)."""
        if team_id not in self._by_team:
            found = next((row for row in self.active if row.team_id == team_id), None)
            if found is None or team_id is None:
                found = next((row for row in self.active if row.is_default), None)
            self._by_team[team_id] = found
        return self._by_team[team_id]


def queue_emails(*, kind: str, requests: Sequence[EmailRequest]) -> list[OutboundEmail | None]:
    """`queue_email` for several e-mails of one kind (a batch of events): the same e-mails,
    with the reads done once for the batch (identities and the tickets' mailboxes, opt-outs,
    dedupe keys, earlier e-mails of the tickets), the rows written with one INSERT and
    delivered by one task after commit. Returns the e-mail, or None, per request, in order."""
    if not requests:
        return []
    senders = _Senders(list({request.ticket.pk for request in requests}))
    users = {request.recipient.pk: request.recipient for request in requests}
    opted_out = set(
        NotificationPreference.objects.filter(
            user_id__in=list(users), kind=kind, enabled=False
        ).values_list("user_id", flat=True)
    )
    failing: dict[str, bool] = {}

    def skipped(user: User, identity: SenderIdentity | None) -> bool:
        # no address, identity or person opted out, a failing address, or one of ours (a loop)
        if not user.email or not user.is_active:
            return True
        if identity is not None and not identity.sends(kind):
            return True
        if user.pk in opted_out:
            return True
        if user.email not in failing:
            failing[user.email] = peers.is_failing(user.email)
        return failing[user.email] or user.email.strip().lower() in senders.own

    keys = [f"{request.dedupe}:{kind}:{request.recipient.pk}"[:150] for request in requests]
    taken = set(
        OutboundEmail.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    wanted: list[tuple[int, EmailRequest, SenderIdentity | None]] = []
    for index, request in enumerate(requests):
        identity = senders.for_ticket(request.ticket)
        if skipped(request.recipient, identity) or keys[index] in taken:
            continue
        taken.add(keys[index])
        wanted.append((index, request, identity))
    if not wanted:
        return [None] * len(requests)
    threads = _Threads(kind, [request.ticket.pk for _i, request, _identity in wanted])
    headers = {"Auto-Submitted": AUTO_SUBMITTED[kind], "X-Auto-Response-Suppress": "All"}
    rows: list[OutboundEmail] = []
    for index, request, identity in wanted:
        ticket, recipient = request.ticket, request.recipient
        from_header, from_address = _sender(identity)
        is_staff = recipient.is_staff_member
        data = {
            "ticket": ticket,
            "recipient": recipient,
            "message": request.ticket_message,
            "link": peers.agent_link(ticket)
            if is_staff
            else peers.customer_link(ticket, recipient),
            "site_url": settings.BASE_URL,
            "time_zone": recipient_zone(recipient),
            **(request.extra or {}),
        }
        rendered = render(kind=kind, language=template_language(recipient), context=data)
        in_reply_to, references = threads.ids(ticket.pk, dedupe=request.dedupe)
        message_id = new_message_id(from_address)
        threads.add(ticket.pk, keys[index], message_id)
        rows.append(
            OutboundEmail(
                message_id=message_id,
                kind=kind,
                ticket=ticket,
                ticket_message=request.ticket_message,
                identity=identity,
                recipient_user=recipient,
                from_address=from_header,
                recipients=[recipient.email],
                subject=_with_token(rendered.subject, ticket)[:300],
                body_text=rendered.text,
                body_html=rendered.html,
                in_reply_to=in_reply_to,
                references=" ".join(references),
                headers={
                    "X-Helpline-Ticket": str(ticket.pk),
                    **(headers if AUTO_SUBMITTED[kind] else {}),
                },
                dedupe_key=keys[index],
                next_attempt_at=timezone.now(),
            )
        )
    OutboundEmail.objects.bulk_create(rows)
    from helpline.notifications.tasks import send_outbound, send_outbound_many

    ids = [row.pk for row in rows]
    if len(ids) == 1:
        transaction.on_commit(lambda: enqueue(send_outbound, ids[0]))
    else:
        transaction.on_commit(lambda: enqueue(send_outbound_many, ids))
    result: list[OutboundEmail | None] = [None] * len(requests)
    for (index, _request, _identity), row in zip(wanted, rows, strict=True):
        result[index] = row
    return result


class _Threads:
    """(In-Reply-To, References) for a batch of e-mails of one kind: the customer's latest
    received e-mail, else our latest one to the same audience (customers or agents; copies
    of the same event to other people are not answers); References all of them, the first
    kept. The tickets' earlier e-mails to the same audience and received Message-IDs are
    read once, the batch's own e-mails added as they are made (a later e-mail of the batch
    answers an earlier one, as one by one)."""

    def __init__(self, kind: str, ticket_ids: list[int]) -> None:
        audience = CUSTOMER_KINDS if kind in CUSTOMER_KINDS else AGENT_KINDS
        self.ours: dict[int, list[tuple[str, str]]] = {pk: [] for pk in ticket_ids}
        rows = (
            OutboundEmail.objects.filter(ticket_id__in=list(self.ours), kind__in=audience)
            .exclude(status=OutboundEmail.Status.FAILED)
            .order_by("created_at", "id")
            .values_list("ticket_id", "dedupe_key", "message_id")
        )
        for ticket_id, dedupe_key, message_id in rows:
            self.ours[ticket_id].append((dedupe_key, message_id))
        self.theirs = {pk: peers.inbound_message_ids(pk) for pk in self.ours}

    def add(self, ticket_id: int, dedupe_key: str, message_id: str) -> None:
        self.ours[ticket_id].append((dedupe_key, message_id))

    def ids(self, ticket_id: int, *, dedupe: str) -> tuple[str, list[str]]:
        """(In-Reply-To, References) of a new e-mail on the ticket."""
        prefix = f"{dedupe}:" if dedupe else None
        ours = [
            message_id
            for key, message_id in self.ours[ticket_id]
            if prefix is None or not key.startswith(prefix)
        ]
        return _thread(self.theirs[ticket_id], ours)


# --- delivery ---------------------------------------------------------------------------------


def _bracket(value: str) -> str:
    return f"<{value}>"


def build_message(row: OutboundEmail, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    headers = {"Message-ID": _bracket(row.message_id), **row.headers}
    if row.in_reply_to:
        headers["In-Reply-To"] = _bracket(row.in_reply_to)
    if row.references:
        headers["References"] = " ".join(_bracket(value) for value in row.references.split())
    email = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=row.from_address,
        to=list(row.recipients),
        headers=headers,
        connection=connection,
    )
    if row.body_html:
        email.attach_alternative(row.body_html, "text/html")
    if row.kind == Kind.REPLY and row.ticket_message_id is not None:
        for item in row.ticket_message.attachments.all():  # type: ignore[union-attr]
            with item.file.open("rb") as handle:
                email.attach(item.filename, handle.read(), item.content_type or None)
    return email


_WAITING = (OutboundEmail.Status.QUEUED, OutboundEmail.Status.RETRYING)


def _claim_many(outbound_ids: Sequence[int], now: datetime) -> list[OutboundEmail]:
    """Take the due e-mails for one attempt with one update and return them, by id: the
    lease (`now` + the lease time) stops a second worker until it runs out."""
    ids = list(outbound_ids)
    lease = now + timedelta(seconds=lease_seconds())
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = OutboundEmail.objects.filter(due, pk__in=ids, status__in=_WAITING).update(
        next_attempt_at=lease, updated_at=now
    )
    if not claimed:
        return []
    # The rows holding this call's lease (another worker's lease has another time).
    return list(
        OutboundEmail.objects.select_related("ticket_message", "identity")
        .filter(pk__in=ids, status__in=_WAITING, next_attempt_at=lease)
        .order_by("pk")
    )


def _claim(outbound_id: int, now: datetime) -> bool:
    """`_claim_many` of one e-mail: whether this call took it."""
    return bool(_claim_many([outbound_id], now))


def _decode(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def server_answer(exc: BaseException) -> tuple[str, bool]:
    """(The server's answer or the error, whether it is permanent)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        text = "; ".join(f"{code} {_decode(message)}" for code, message in answers)
        return text, bool(answers) and all(code >= 500 for code, _unused in answers)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our account is wrong, not the message: retry, an administrator may fix it.
        return f"{exc.smtp_code} {_decode(exc.smtp_error)}", False
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_decode(exc.smtp_error)}", exc.smtp_code >= 500
    return f"{type(exc).__name__}: {exc}", False


def deliver(outbound_id: int) -> OutboundEmail | None:
    """One delivery attempt of a due e-mail (`deliver_many` of one); None if it is not due
    or taken by another."""
    attempted = deliver_many([outbound_id])
    return attempted[0] if attempted else None


def deliver_many(outbound_ids: Sequence[int]) -> list[OutboundEmail]:
    """One delivery attempt of each due e-mail (those queued together, or one): claimed
    with one update, sent over one connection per sender identity, each outcome recorded:
    sent (with one update for the batch), else retrying with backoff or failed. The
    e-mails attempted."""
    rows = _claim_many(outbound_ids, timezone.now())
    by_identity: dict[int | None, list[OutboundEmail]] = {}
    for row in rows:
        by_identity.setdefault(row.identity_id, []).append(row)
    outcomes: list[tuple[OutboundEmail, BaseException | None]] = []
    for group in by_identity.values():
        try:
            connection = smtp_connection(group[0].identity)
            connection.open()
        except Exception as exc:  # the account is unusable: every e-mail records why
            outcomes += [(row, exc) for row in group]
            continue
        try:
            for row in group:
                try:
                    build_message(row, connection).send()
                    outcomes.append((row, None))
                except Exception as exc:  # every failure is recorded on the e-mail
                    outcomes.append((row, exc))
                    # a fresh connection for the next e-mail (this one may be broken)
                    with contextlib.suppress(Exception):
                        connection.close()
        finally:
            with contextlib.suppress(Exception):
                connection.close()
    sent = [row for row, error in outcomes if error is None]
    if sent:
        now = timezone.now()
        OutboundEmail.objects.filter(pk__in=[row.pk for row in sent]).update(
            attempts=F("attempts") + 1,
            status=OutboundEmail.Status.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            updated_at=now,
        )
        for row in sent:
            row.attempts += 1
            row.status, row.sent_at, row.updated_at = OutboundEmail.Status.SENT, now, now
            row.next_attempt_at, row.last_error = None, ""
    for row, error in outcomes:
        if error is not None:
            _record_failure(row, error)
    return [row for row, _error in outcomes]


def _record_failure(row: OutboundEmail, error: BaseException) -> None:
    """A failed attempt: retrying after the backoff, or failed (a permanent refusal, or the
    attempts ran out) with an audit entry on the ticket."""
    now = timezone.now()
    row.attempts += 1
    answer, permanent = server_answer(error)
    row.last_error = answer[:2000]
    if permanent or row.attempts >= max_attempts():
        row.status = OutboundEmail.Status.FAILED
        row.next_attempt_at = None
    else:
        row.status = OutboundEmail.Status.RETRYING
        row.next_attempt_at = now + backoff(row.attempts)
    logger.warning(
        "e-mail %s to ticket %s: attempt %s failed: %s",
        row.pk,
        row.ticket_id,
        row.attempts,
        row.last_error,
    )
    fields = ["attempts", "status", "next_attempt_at", "last_error", "updated_at"]
    with transaction.atomic():
        row.save(update_fields=fields)
        if row.status == OutboundEmail.Status.FAILED and row.ticket_id is not None:
            AuditEntry.objects.create(
                ticket_id=row.ticket_id,
                action="email_failed",
                field="email",
                after={"outbound": row.pk, "to": row.recipients, "kind": row.kind},
                note=row.last_error,
            )


def due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """E-mails whose next attempt is due (new ones whose enqueue was lost, retries, and
    attempts whose worker died holding the lease)."""
    now = now or timezone.now()
    rows = OutboundEmail.objects.filter(
        status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.RETRYING],
        next_attempt_at__lte=now,
    )
    return list(rows.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def delivery_retry(*, actor: User, outbound: OutboundEmail) -> OutboundEmail:
    """Send a failed or retrying e-mail again now (after fixing an SMTP account or the
    customer's mailbox): agents only; the attempt runs after commit. A sent e-mail is
    left as it is."""
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may do this."))
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=outbound.pk)
        if row.status in (OutboundEmail.Status.SENT, OutboundEmail.Status.QUEUED):
            return row
        row.status = OutboundEmail.Status.RETRYING
        row.next_attempt_at = timezone.now()
        # One more attempt than the limit allows, without resetting the history.
        row.attempts = min(row.attempts, max_attempts() - 1)
        row.save(update_fields=["status", "next_attempt_at", "attempts", "updated_at"])
        if row.ticket_id is not None:
            AuditEntry.objects.create(
                ticket_id=row.ticket_id,
                actor=actor,
                action="email_retried",
                field="email",
                after={"outbound": row.pk, "to": row.recipients, "kind": row.kind},
            )
        from helpline.notifications.tasks import send_outbound

        transaction.on_commit(lambda: enqueue(send_outbound, row.pk))
    return row
