"""Writes for tickets: every operation is a named service that audits and emits an event.

Callers pass a ticket they obtained through `access_ticket` (visibility is checked there);
these services check what the actor may *do*, lock the row, change it, write the audit
trail and emit one domain event per operation.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Role, Team, TeamMembership, User
from helpline.accounts.services import next_line
from helpline.core.errors import (
    Conflict,
    InvalidTransition,
    PayloadTooLarge,
    PermissionDenied,
    ValidationError,
)
from helpline.core.events import emit
from helpline.core.html import html_to_text, sanitize_html, strip_control_chars
from helpline.core.memo import memo
from helpline.routing import ordering, rules
from helpline.tickets import events
from helpline.tickets.models import (
    Attachment,
    AuditEntry,
    Category,
    Channel,
    CustomField,
    Message,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketLink,
)

# The status machine. `closed` is terminal: a closed ticket never changes again.
ACTIVE = frozenset(
    {Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.PENDING_THIRD_PARTY, Status.ON_HOLD}
)
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(ACTIVE - {Status.NEW} | {Status.SOLVED}),
    Status.OPEN: frozenset(ACTIVE - {Status.NEW, Status.OPEN} | {Status.SOLVED}),
    Status.PENDING_CUSTOMER: frozenset(
        ACTIVE - {Status.NEW, Status.PENDING_CUSTOMER} | {Status.SOLVED}
    ),
    Status.PENDING_THIRD_PARTY: frozenset(
        ACTIVE - {Status.NEW, Status.PENDING_THIRD_PARTY} | {Status.SOLVED}
    ),
    Status.ON_HOLD: frozenset(ACTIVE - {Status.NEW, Status.ON_HOLD} | {Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# What a customer may do to their own request: mark it solved ("close") or reopen it.
CUSTOMER_TRANSITIONS: dict[str, frozenset[str]] = {
    **{status: frozenset({Status.SOLVED}) for status in ACTIVE},
    Status.SOLVED: frozenset({Status.OPEN}),
    Status.CLOSED: frozenset(),
}
MAX_TAGS = 30
MAX_ATTACHMENTS = 20
MAX_BODY_CHARS = 200_000


@dataclass(frozen=True)
class AttachmentIn:
    """An uploaded file on its way into a message."""

    filename: str
    content_type: str
    data: bytes


# --- helpers ------------------------------------------------------------------------------


def _require_staff(actor: User) -> None:
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only agents may do this."))


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _emit(event: events.TicketEvent, actor: User | None) -> Any:
    return emit(event, actor=actor, aggregate=("ticket", event.ticket_id))


def _audit(
    ticket: Ticket,
    actor: User | None,
    action: str,
    record: Any,
    *,
    field: str = "",
    before: Any = None,
    after: Any = None,
    note: str = "",
) -> None:
    AuditEntry.objects.create(
        ticket=ticket,
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        field=field,
        before=before,
        after=after,
        note=note,
        event_id=record.uuid,
    )


def _clean_subject(subject: str) -> str:
    subject = " ".join(strip_control_chars(subject or "").split())
    if not subject:
        raise ValidationError(_("Subject is required."), fields={"subject": "required"})
    if len(subject) > 250:
        raise ValidationError(
            _("Subject is too long (250 characters at most)."), fields={"subject": "too_long"}
        )
    return subject


def _clean_body(body: str, body_html: str) -> tuple[str, str]:
    clean_html = sanitize_html(strip_control_chars(body_html)) if body_html else ""
    text = strip_control_chars(body or "").strip() or html_to_text(clean_html)
    if not text:
        raise ValidationError(_("Message text is required."), fields={"body": "required"})
    if len(text) > MAX_BODY_CHARS or len(clean_html) > MAX_BODY_CHARS * 2:
        raise PayloadTooLarge(_("Message is too long."), fields={"body": "too_long"})
    return text, clean_html


def _priority(value: str | int) -> int:
    if isinstance(value, int) and value in Priority.values:
        return value
    try:
        return Priority.from_name(str(value))
    except ValueError:
        raise ValidationError(
            _("Unknown priority."), fields={"priority": "one of low, normal, high, urgent"}
        ) from None


def _tag_names(tags: Iterable[str]) -> list[str]:
    names: list[str] = []
    for raw in tags:
        name = slugify(str(raw), allow_unicode=True)[:50]
        if not name:
            raise ValidationError(_("Invalid tag."), fields={"tags": f"invalid: {raw!r}"})
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationError(_("Too many tags."), fields={"tags": f"at most {MAX_TAGS}"})
    return names


def _set_tags(ticket: Ticket, names: list[str]) -> None:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    ticket.tags.set([existing[name] for name in names])


def _check_category(category: Category | None) -> None:
    if category is not None and not category.is_active:
        raise ValidationError(_("This category is not in use."), fields={"category": "inactive"})


def validate_custom_fields(
    values: dict[str, Any],
    *,
    current: dict[str, Any] | None = None,
    customer: bool = False,
    definitions: dict[str, CustomField] | None = None,
) -> dict[str, Any]:
    """Validate `values` against the admin-defined fields; return the merged, typed dict.

    A value of None removes the field. Required fields must be present after merging.
    `definitions` (the active fields by key) saves the query when validating a batch.
    """
    if definitions is None:
        definitions = memo(
            "tickets.custom_fields",
            lambda: {field.key: field for field in CustomField.objects.filter(is_active=True)},
        )
    merged = dict(current or {})
    errors: dict[str, str] = {}
    for key, value in values.items():
        field = definitions.get(key)
        if field is None or (customer and not field.visible_to_customers):
            errors[key] = "unknown field"
            continue
        if value is None or value == "":
            merged.pop(key, None)
            continue
        try:
            merged[key] = _typed_value(field, value)
        except ValueError as exc:
            errors[key] = str(exc)
    for key, field in definitions.items():
        if field.required and key not in merged and (not customer or field.visible_to_customers):
            errors.setdefault(key, "required")
    if errors:
        raise ValidationError(
            _("Invalid custom fields."), fields={f"custom_fields.{k}": v for k, v in errors.items()}
        )
    return merged


def _typed_value(field: CustomField, value: Any) -> Any:
    if field.type == CustomField.Type.TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if len(value) > field.max_length:
            raise ValueError(f"at most {field.max_length} characters")
        return value
    if field.type == CustomField.Type.NUMBER:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if field.type == CustomField.Type.CHOICE:
        if value not in field.choices:
            raise ValueError(f"must be one of {', '.join(map(str, field.choices))}")
        return value
    if field.type == CustomField.Type.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    raise ValueError("unsupported field type")


def _clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C"
    )
    name = name.strip().strip(".") or "attachment"
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext)] + ext
    return name


def validate_attachments(attachments: Sequence[AttachmentIn]) -> None:
    """Reject oversized, too many, or blocked files before anything is stored."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationError(
            _("Too many attachments."), fields={"attachments": f"at most {MAX_ATTACHMENTS}"}
        )
    limit = settings.HELPLINE_MAX_ATTACHMENT_BYTES
    blocked = {ext.lower() for ext in settings.HELPLINE_BLOCKED_ATTACHMENT_EXTENSIONS}
    for index, item in enumerate(attachments):
        if len(item.data) > limit:
            raise PayloadTooLarge(
                _("Attachment %(name)s is larger than %(limit)s bytes.")
                % {"name": _clean_filename(item.filename), "limit": limit},
                fields={f"attachments.{index}": "too_large"},
            )
        if os.path.splitext(item.filename.lower())[1] in blocked:
            raise ValidationError(
                _("Files of this type are not accepted."),
                fields={f"attachments.{index}": "blocked_type"},
            )


def attachment_row(message: Message, item: AttachmentIn) -> Attachment:
    """The unsaved row of an attachment, its file stored (once per content)."""
    from django.core.files.storage import default_storage

    digest = hashlib.sha256(item.data).hexdigest()
    attachment = Attachment(
        message=message,
        filename=_clean_filename(item.filename),
        content_type=(item.content_type or "application/octet-stream")[:150],
        size=len(item.data),
        sha256=digest,
    )
    path = f"attachments/{digest[:2]}/{digest}"
    if default_storage.exists(path):
        attachment.file.name = path
    else:
        attachment.file.save(digest, ContentFile(item.data), save=False)
    return attachment


def _store_attachments(message: Message, attachments: Sequence[AttachmentIn]) -> None:
    for item in attachments:
        attachment_row(message, item).save()


def _add_message(
    ticket: Ticket,
    *,
    author: User,
    kind: str,
    body: str,
    body_html: str,
    channel: str,
    attachments: Sequence[AttachmentIn],
) -> Message:
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        kind=kind,
        body_text=body,
        body_html=body_html,
        channel=channel,
    )
    _store_attachments(message, attachments)
    return message


def _default_team() -> Team | None:
    return memo("tickets.default_team", lambda: Team.objects.filter(is_default=True).first())


# --- create ------------------------------------------------------------------------------


def ticket_create(
    *,
    actor: User,
    subject: str,
    body: str = "",
    body_html: str = "",
    requester: User | None = None,
    channel: str = Channel.WEB,
    priority: str | int = "normal",
    category: Category | None = None,
    tags: Iterable[str] = (),
    team: Team | None = None,
    assignee: User | None = None,
    custom_fields: dict[str, Any] | None = None,
    attachments: Sequence[AttachmentIn] = (),
    organization: Organization | None = None,
    routed_team: Team | None = None,
) -> Ticket:
    """Open a ticket. A customer opens it for themselves; an agent on behalf of a requester.

    `routed_team` is the team chosen by the way the request came in (an e-mail mailbox),
    used when no team is given; unlike `team` it is allowed for customers' own requests."""
    tags = list(tags)
    is_customer = not actor.is_staff_member
    if is_customer:
        if requester is not None and requester.pk != actor.pk:
            raise PermissionDenied(_("Customers open tickets for themselves only."))
        if team is not None or assignee is not None or tags or organization is not None:
            raise PermissionDenied(_("Customers cannot set team, assignee, tags or organization."))
        if _priority(priority) != Priority.NORMAL:
            raise PermissionDenied(_("Customers cannot set the priority."))
        requester = actor
    elif requester is None:
        raise ValidationError(_("Requester is required."), fields={"requester": "required"})
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel."), fields={"channel": "invalid"})
    subject = _clean_subject(subject)
    text, clean_html = _clean_body(body, body_html)
    priority_value = _priority(priority)
    tag_names = _tag_names(tags)
    _check_category(category)
    fields = validate_custom_fields(custom_fields or {}, customer=is_customer)
    validate_attachments(attachments)
    if assignee is not None and not assignee.is_staff_member:
        raise ValidationError(_("The assignee must be an agent."), fields={"assignee": "not_agent"})
    if organization is None:
        organization = requester.organization
    plan = organization.plan if organization is not None and organization.plan_id else None
    outcome = rules.evaluate(
        rules.Draft(
            subject=subject,
            text=text,
            channel=channel,
            priority=priority_value,
            category_id=category.pk if category is not None else None,
            organization_id=organization.pk if organization is not None else None,
            plan_id=plan.pk if plan is not None else None,
            language=requester.language,
            sender_email=requester.email,
        )
    )
    routed: dict[str, Any] = {}
    if outcome is not None:
        if team is None and outcome.team_id is not None:
            team = routed["team"] = Team.objects.get(pk=outcome.team_id)
        if outcome.priority is not None and outcome.priority > priority_value:
            priority_value = outcome.priority
            routed["priority"] = Priority(priority_value).key
        added = [name for name in _tag_names(outcome.tags) if name not in tag_names]
        if added:
            tag_names += added
            routed["tags"] = added
    team = team or routed_team or _default_team()
    now = timezone.now()
    by_customer = is_customer or actor.pk == requester.pk
    customer_since = organization.created_at if organization is not None else requester.date_joined
    with transaction.atomic():
        ticket = Ticket.objects.create(
            subject=subject,
            requester=requester,
            organization=organization,
            channel=channel,
            status=Status.OPEN if assignee else Status.NEW,
            priority=priority_value,
            category=category,
            team=team,
            assignee=assignee,
            custom_fields=fields,
            message_count=1,
            last_customer_message_at=now if by_customer else None,
            queue_at=ordering.queue_at(
                arrival=now,
                priority=priority_value,
                plan_weight=plan.priority_weight if plan is not None else None,
                customer_since=customer_since,
            ),
        )
        if tag_names:
            _set_tags(ticket, tag_names)
        message = _add_message(
            ticket,
            author=requester if by_customer else actor,
            kind=Message.Kind.PUBLIC,
            body=text,
            body_html=clean_html,
            channel=channel,
            attachments=attachments,
        )
        record = _emit(
            events.TicketCreated(
                ticket_id=ticket.pk,
                requester_id=requester.pk,
                organization_id=ticket.organization_id,
                team_id=ticket.team_id,
                channel=channel,
                priority=Priority(priority_value).key,
                status=ticket.status,
                message_id=message.pk,
            ),
            actor,
        )
        _audit(
            ticket,
            actor,
            "created",
            record,
            after={
                "status": ticket.status,
                "priority": Priority(priority_value).key,
                "team": ticket.team_id,
                "assignee": ticket.assignee_id,
                "channel": channel,
            },
        )
        if outcome is not None and routed:
            _audit(
                ticket,
                None,
                "routed",
                record,
                after={**routed, "team": routed["team"].pk} if "team" in routed else routed,
                note=_routing_reason(outcome.rule.name, routed),
            )
    return ticket


def _routing_reason(rule: str, routed: dict[str, Any]) -> str:
    """ "Routed to L1 Technical by rule 'VPN'" (or what else the rule did)."""
    done = []
    if "team" in routed:
        done.append(_("routed to %(team)s") % {"team": routed["team"].name})
    if "priority" in routed:
        done.append(
            _("priority raised to %(priority)s")
            % {"priority": Priority.from_name(routed["priority"]).label}
        )
    if "tags" in routed:
        done.append(_("tagged %(tags)s") % {"tags": ", ".join(routed["tags"])})
    actions = "; ".join(done)
    return _("%(actions)s by rule '%(rule)s'") % {
        "actions": actions[:1].upper() + actions[1:],
        "rule": rule,
    }


# --- messages ----------------------------------------------------------------------------


def ticket_reply(
    *,
    actor: User,
    ticket: Ticket,
    body: str = "",
    body_html: str = "",
    attachments: Sequence[AttachmentIn] = (),
    channel: str | None = None,
    status: str | None = None,
) -> Message:
    """Add a public reply. A customer's reply reopens a pending or solved ticket;
    an agent's first reply records the first response; an agent may set a status with it."""
    text, clean_html = _clean_body(body, body_html)
    validate_attachments(attachments)
    is_customer = not actor.is_staff_member
    if is_customer and status is not None:
        raise PermissionDenied(_("Customers cannot set a status with a reply."))
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status == Status.CLOSED:
            raise Conflict(
                _("This ticket is closed. Open a new request that refers to it."),
                code="ticket_closed",
            )
        now = timezone.now()
        message = _add_message(
            ticket,
            author=actor,
            kind=Message.Kind.PUBLIC,
            body=text,
            body_html=clean_html,
            channel=channel or ticket.channel,
            attachments=attachments,
        )
        update = ["message_count", "updated_at"]
        ticket.message_count = F("message_count") + 1
        if is_customer:
            ticket.last_customer_message_at = now
            update.append("last_customer_message_at")
        elif ticket.first_response_at is None:
            ticket.first_response_at = now
            update.append("first_response_at")
        ticket.save(update_fields=update)
        ticket.refresh_from_db(fields=["message_count"])
        record = _emit(
            events.MessageAdded(
                ticket_id=ticket.pk,
                message_id=message.pk,
                author_id=actor.pk,
                kind=message.kind,
                by_customer=is_customer,
            ),
            actor,
        )
        _audit(ticket, actor, "replied", record, after={"message": message.pk})
        if is_customer and ticket.status not in (Status.NEW, Status.OPEN):
            _set_status(ticket, actor, Status.OPEN, reason="customer_reply")
        elif not is_customer:
            target = status or (Status.OPEN if ticket.status == Status.NEW else None)
            if target is not None and target != ticket.status:
                _check_transition(ticket.status, target, TRANSITIONS)
                _set_status(ticket, actor, target, reason="agent_reply")
    return message


def ticket_add_note(
    *,
    actor: User,
    ticket: Ticket,
    body: str = "",
    body_html: str = "",
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    """Add an internal note: agents only, never shown to customers."""
    _require_staff(actor)
    text, clean_html = _clean_body(body, body_html)
    validate_attachments(attachments)
    with transaction.atomic():
        ticket = _locked(ticket)
        message = _note(ticket, actor, text, clean_html, attachments)
    return message


def _note(
    ticket: Ticket,
    actor: User,
    text: str,
    clean_html: str = "",
    attachments: Sequence[AttachmentIn] = (),
) -> Message:
    message = _add_message(
        ticket,
        author=actor,
        kind=Message.Kind.INTERNAL,
        body=text,
        body_html=clean_html,
        channel=Channel.WEB,
        attachments=attachments,
    )
    ticket.message_count = F("message_count") + 1
    ticket.save(update_fields=["message_count", "updated_at"])
    ticket.refresh_from_db(fields=["message_count"])
    record = _emit(
        events.MessageAdded(
            ticket_id=ticket.pk,
            message_id=message.pk,
            author_id=actor.pk,
            kind=message.kind,
            by_customer=False,
        ),
        actor,
    )
    _audit(ticket, actor, "noted", record, after={"message": message.pk})
    return message


# --- status ------------------------------------------------------------------------------


def _check_transition(before: str, after: str, table: dict[str, frozenset[str]]) -> None:
    if after not in Status.values:
        raise ValidationError(_("Unknown status."), fields={"status": "invalid"})
    if after not in table.get(before, frozenset()):
        raise InvalidTransition(
            _("A ticket cannot go from %(before)s to %(after)s.")
            % {"before": Status(before).label, "after": Status(after).label},
            fields={"status": f"{before} -> {after} not allowed"},
        )


def _set_status(
    ticket: Ticket,
    actor: User | None,
    status: str,
    *,
    reason: str = "",
    also_update: Sequence[str] = (),
) -> None:
    """Set the status and the timestamps that follow from it (plus `also_update` fields)."""
    before = ticket.status
    now = timezone.now()
    ticket.status = status
    update = ["status", "updated_at", *also_update]
    if status in (Status.SOLVED, Status.CLOSED) and ticket.solved_at is None:
        ticket.solved_at = now
        update.append("solved_at")
    if status in ACTIVE and ticket.solved_at is not None:
        ticket.solved_at = None
        update.append("solved_at")
    if status == Status.CLOSED:
        ticket.closed_at = now
        update.append("closed_at")
    ticket.save(update_fields=update)
    record = _emit(
        events.StatusChanged(ticket_id=ticket.pk, before=before, after=status, reason=reason), actor
    )
    _audit(
        ticket,
        actor,
        "status_changed",
        record,
        field="status",
        before=before,
        after=status,
        note=reason,
    )


def ticket_change_status(*, actor: User, ticket: Ticket, status: str) -> Ticket:
    """Move a ticket through the status machine (customers: solve or reopen their own)."""
    same_org = actor.organization_id is not None and ticket.organization_id == actor.organization_id
    if not actor.is_staff_member and ticket.requester_id != actor.pk and not same_org:
        raise PermissionDenied(_("You may not change this request."))
    table = TRANSITIONS if actor.is_staff_member else CUSTOMER_TRANSITIONS
    with transaction.atomic():
        ticket = _locked(ticket)
        if status == ticket.status:
            return ticket
        _check_transition(ticket.status, status, table)
        _set_status(ticket, actor, status, reason="customer" if not actor.is_staff_member else "")
    return ticket


# --- fields ------------------------------------------------------------------------------

_UNSET: Any = object()


def ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    subject: str = _UNSET,
    priority: str | int = _UNSET,
    category: Category | None = _UNSET,
    tags: Iterable[str] = _UNSET,
    custom_fields: dict[str, Any] = _UNSET,
) -> Ticket:
    """Change subject, priority, category, tags or custom fields (custom fields merge;
    a None value removes one). One audit entry per changed field, one event."""
    _require_staff(actor)
    changes: dict[str, list] = {}
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status == Status.CLOSED:
            raise Conflict(_("A closed ticket cannot be changed."), code="ticket_closed")
        update: list[str] = []
        if subject is not _UNSET:
            clean = _clean_subject(subject)
            if clean != ticket.subject:
                changes["subject"] = [ticket.subject, clean]
                ticket.subject = clean
                update.append("subject")
        if priority is not _UNSET:
            value = _priority(priority)
            if value != ticket.priority:
                changes["priority"] = [Priority(ticket.priority).key, Priority(value).key]
                ticket.priority = value
                update.append("priority")
        if category is not _UNSET:
            _check_category(category)
            new_id = category.pk if category is not None else None
            if new_id != ticket.category_id:
                changes["category"] = [ticket.category_id, new_id]
                ticket.category = category
                update.append("category")
        if custom_fields is not _UNSET:
            merged = validate_custom_fields(custom_fields, current=ticket.custom_fields)
            if merged != ticket.custom_fields:
                changes["custom_fields"] = [ticket.custom_fields, merged]
                ticket.custom_fields = merged
                update.append("custom_fields")
        if tags is not _UNSET:
            names = _tag_names(tags)
            current = sorted(ticket.tags.values_list("name", flat=True))
            if sorted(names) != current:
                changes["tags"] = [current, sorted(names)]
                _set_tags(ticket, names)
        if not changes:
            return ticket
        ticket.save(update_fields=[*update, "updated_at"])
        record = _emit(events.FieldsChanged(ticket_id=ticket.pk, changes=changes), actor)
        for name, (before, after) in changes.items():
            _audit(ticket, actor, "field_changed", record, field=name, before=before, after=after)
    return ticket


# --- assignment and teams ----------------------------------------------------------------


def _is_member(user: User, team: Team | None) -> bool:
    return team is None or TeamMembership.objects.filter(team=team, user=user).exists()


def ticket_assign(*, actor: User, ticket: Ticket, assignee: User) -> Ticket:
    """Give the ticket to an agent of its team."""
    _require_staff(actor)
    if not assignee.is_active or not assignee.is_staff_member:
        raise ValidationError(
            _("The assignee must be an active agent."), fields={"assignee": "not_agent"}
        )
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status == Status.CLOSED:
            raise Conflict(_("A closed ticket cannot be changed."), code="ticket_closed")
        if ticket.assignee_id == assignee.pk:
            return ticket
        if not _is_member(assignee, ticket.team) and assignee.role == Role.AGENT:
            raise ValidationError(
                _("%(agent)s is not a member of %(team)s.")
                % {"agent": assignee.name, "team": ticket.team},
                fields={"assignee": "not_in_team"},
            )
        _assign(ticket, actor, assignee)
    return ticket


def _assign(ticket: Ticket, actor: User | None, assignee: User | None, note: str = "") -> None:
    before = ticket.assignee_id
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    record = _emit(
        events.Assigned(
            ticket_id=ticket.pk, before_id=before, assignee_id=assignee.pk if assignee else None
        ),
        actor,
    )
    _audit(
        ticket,
        actor,
        "assigned" if assignee else "unassigned",
        record,
        field="assignee",
        before=before,
        after=assignee.pk if assignee else None,
        note=note,
    )


def ticket_route_assign(*, ticket_id: int, assignee: User, reason: str) -> Ticket | None:
    """Automatic assignment (routing): no actor; audited with its reason. Does nothing (None)
    when the ticket was assigned, moved to another team or closed in the meantime."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if (
            ticket.assignee_id is not None
            or ticket.status in (Status.SOLVED, Status.CLOSED)
            or not _is_member(assignee, ticket.team)
        ):
            return None
        _assign(ticket, None, assignee, note=reason)
    return ticket


def ticket_unassign(*, actor: User, ticket: Ticket) -> Ticket:
    _require_staff(actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.assignee_id is not None:
            _assign(ticket, actor, None)
    return ticket


def ticket_transfer(*, actor: User, ticket: Ticket, team: Team, note: str = "") -> Ticket:
    """Move the ticket to another team; the assignee stays only if they are in it."""
    _require_staff(actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status == Status.CLOSED:
            raise Conflict(_("A closed ticket cannot be changed."), code="ticket_closed")
        if ticket.team_id == team.pk:
            raise Conflict(_("The ticket is already with this team."), code="same_team")
        _transfer(ticket, actor, team, note)
    return ticket


def _transfer(ticket: Ticket, actor: User, team: Team, note: str) -> Any:
    before = ticket.team_id
    ticket.team = team
    update = ["team", "updated_at"]
    drop_assignee = ticket.assignee is not None and not _is_member(ticket.assignee, team)
    ticket.save(update_fields=update)
    if note:
        _note(ticket, actor, note)
    record = _emit(
        events.Transferred(ticket_id=ticket.pk, before_team_id=before, team_id=team.pk, note=note),
        actor,
    )
    _audit(
        ticket, actor, "transferred", record, field="team", before=before, after=team.pk, note=note
    )
    if drop_assignee:
        _assign(ticket, actor, None)
    return record


def ticket_escalate(*, actor: User, ticket: Ticket, note: str) -> Ticket:
    """Hand the ticket to the next support line, with a required hand-off note."""
    _require_staff(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationError(
            _("A hand-off note is required to escalate."), fields={"note": "required"}
        )
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status in (Status.SOLVED, Status.CLOSED):
            raise Conflict(_("Only active tickets can be escalated."), code="not_active")
        current = ticket.team
        if current is None or current.kind != Team.Kind.LINE:
            raise Conflict(_("This ticket is not on a support line."), code="not_on_line")
        target = next_line(current)
        if target is None:
            raise Conflict(_("The ticket is already on the highest line."), code="top_line")
        _transfer(ticket, actor, target, note)
        record = _emit(
            events.Escalated(
                ticket_id=ticket.pk, from_team_id=current.pk, to_team_id=target.pk, note=note
            ),
            actor,
        )
        _audit(
            ticket,
            actor,
            "escalated",
            record,
            field="team",
            before=current.pk,
            after=target.pk,
            note=note,
        )
    return ticket


# --- merge, link, watch ------------------------------------------------------------------


def ticket_merge(*, actor: User, source: Ticket, target: Ticket) -> Ticket:
    """Merge `source` into `target`: its messages move, it is closed with a link. Returns target."""
    _require_staff(actor)
    if source.pk == target.pk:
        raise ValidationError(
            _("A ticket cannot be merged into itself."), fields={"target": "same"}
        )
    with transaction.atomic():
        first, second = sorted([source.pk, target.pk])
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update()
            .filter(pk__in=[first, second])
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.status == Status.CLOSED or target.status == Status.CLOSED:
            raise Conflict(_("Closed tickets cannot be merged."), code="ticket_closed")
        moved = list(Message.objects.filter(ticket=source).values_list("pk", flat=True))
        Message.objects.filter(pk__in=moved).update(ticket=target, moved_from=source)
        target.watchers.add(*source.watchers.all())
        if source.requester_id != target.requester_id:
            target.watchers.add(source.requester_id)
        target.tags.add(*source.tags.all())
        target.message_count = F("message_count") + len(moved)
        target.save(update_fields=["message_count", "updated_at"])
        target.refresh_from_db(fields=["message_count"])
        _note(
            target,
            actor,
            _("Ticket #%(source)s was merged into this ticket.") % {"source": source.pk},
        )
        _note(source, actor, _("Merged into ticket #%(target)s.") % {"target": target.pk})
        source.merged_into = target
        source.message_count = Message.objects.filter(ticket=source).count()
        _set_status(
            source,
            actor,
            Status.CLOSED,
            reason="merged",
            also_update=["merged_into", "message_count"],
        )
        record = _emit(
            events.Merged(ticket_id=source.pk, into_ticket_id=target.pk, moved_message_ids=moved),
            actor,
        )
        _audit(source, actor, "merged", record, field="merged_into", after=target.pk)
        _audit(target, actor, "merged_in", record, before=source.pk, note=f"{len(moved)} messages")
    return target


def _link_key(ticket: Ticket, other: Ticket, kind: str) -> tuple[Ticket, Ticket]:
    if kind == TicketLink.Kind.RELATED and ticket.pk > other.pk:
        return other, ticket
    return ticket, other


def ticket_link(*, actor: User, ticket: Ticket, other: Ticket, kind: str) -> TicketLink:
    """Link two tickets: related (symmetric), parent (ticket is the parent of other),
    or follow_up (ticket follows up other)."""
    _require_staff(actor)
    if kind not in TicketLink.Kind.values:
        raise ValidationError(_("Unknown link kind."), fields={"kind": "invalid"})
    if ticket.pk == other.pk:
        raise ValidationError(_("A ticket cannot be linked to itself."), fields={"other": "same"})
    with transaction.atomic():
        _locked(ticket)
        source, target = _link_key(ticket, other, kind)
        if TicketLink.objects.filter(source=source, target=target, kind=kind).exists():
            raise Conflict(_("These tickets are linked already."), code="already_linked")
        if kind == TicketLink.Kind.PARENT:
            if TicketLink.objects.filter(target=other, kind=kind).exists():
                raise Conflict(_("That ticket has a parent already."), code="has_parent")
            if _is_ancestor(other.pk, ticket.pk):
                raise Conflict(_("This link would make a cycle."), code="cycle")
        link = TicketLink.objects.create(source=source, target=target, kind=kind, created_by=actor)
        for one, two in ((ticket, other), (other, ticket)):
            record = _emit(
                events.Linked(ticket_id=one.pk, other_ticket_id=two.pk, kind=kind, linked=True),
                actor,
            )
            _audit(
                one, actor, "linked", record, field="links", after={"ticket": two.pk, "kind": kind}
            )
    return link


def _is_ancestor(candidate: int, ticket_id: int) -> bool:
    """True if `candidate` is `ticket_id` or one of its parents (walks up the tree)."""
    seen: set[int] = set()
    current: int | None = ticket_id
    while current is not None and current not in seen:
        if current == candidate:
            return True
        seen.add(current)
        current = (
            TicketLink.objects.filter(target_id=current, kind=TicketLink.Kind.PARENT)
            .values_list("source_id", flat=True)
            .first()
        )
    return False


def ticket_unlink(*, actor: User, ticket: Ticket, other: Ticket, kind: str) -> None:
    _require_staff(actor)
    with transaction.atomic():
        _locked(ticket)
        source, target = _link_key(ticket, other, kind)
        deleted, _unused = TicketLink.objects.filter(
            source=source, target=target, kind=kind
        ).delete()
        if not deleted:
            raise Conflict(_("These tickets are not linked."), code="not_linked")
        for one, two in ((ticket, other), (other, ticket)):
            record = _emit(
                events.Linked(ticket_id=one.pk, other_ticket_id=two.pk, kind=kind, linked=False),
                actor,
            )
            _audit(
                one,
                actor,
                "unlinked",
                record,
                field="links",
                before={"ticket": two.pk, "kind": kind},
            )


def ticket_watch(*, actor: User, ticket: Ticket, user: User, watching: bool = True) -> Ticket:
    """Add or remove a watcher. Agents manage watchers; anyone may (un)watch themselves."""
    if user.pk != actor.pk:
        _require_staff(actor)
    with transaction.atomic():
        ticket = _locked(ticket)
        is_watching = ticket.watchers.filter(pk=user.pk).exists()
        if is_watching == watching:
            return ticket
        if watching:
            ticket.watchers.add(user)
        else:
            ticket.watchers.remove(user)
        record = _emit(
            events.WatchersChanged(ticket_id=ticket.pk, user_id=user.pk, watching=watching), actor
        )
        _audit(
            ticket,
            actor,
            "watcher_added" if watching else "watcher_removed",
            record,
            field="watchers",
            after=user.pk,
        )
    return ticket
