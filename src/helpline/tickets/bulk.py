"""Bulk ticket creation: up to `MAX_BULK` tickets in one transaction, all or nothing.

Each ticket gets what `services.ticket_create` gives one: the same validation, routing
rules and queue position, tags, custom fields, the "created" (and "routed") audit entries
and one `TicketCreated` event. The rows are written with one INSERT per table and the events
are queued for dispatch as one task, so a ticket costs a fraction of a single create.

`ticket_create_many` is one actor's all-or-nothing batch (the bulk API, which takes no
attachments). A batch job whose items come from different people (inbound mail) validates
each item on its own with `ticket_plan` (refusing only that item) and writes the accepted
ones together with `ticket_create_planned`; such items may carry attachments and watchers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpline.accounts.models import Organization, Team, User
from helpline.core.errors import DomainError, PermissionDenied, ValidationError
from helpline.core.events import emit_many
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
)
from helpline.tickets.services import (
    AttachmentIn,
    _check_category,
    _clean_body,
    _clean_subject,
    _priority,
    _routing_reason,
    _tag_names,
    attachment_row,
    validate_attachments,
    validate_custom_fields,
)

MAX_BULK = 100


@dataclass(frozen=True)
class NewTicket:
    """One ticket of a batch: the arguments of `services.ticket_create`, and the people who
    start watching it (each as `services.ticket_watch` by themselves)."""

    subject: str
    body: str = ""
    body_html: str = ""
    requester: User | None = None
    channel: str = Channel.WEB
    priority: str | int = "normal"
    category: Category | None = None
    tags: Sequence[str] = ()
    team: Team | None = None
    assignee: User | None = None
    custom_fields: dict[str, Any] | None = None
    organization: Organization | None = None
    routed_team: Team | None = None
    attachments: Sequence[AttachmentIn] = ()
    watchers: Sequence[User] = ()


@dataclass
class _Plan:
    """A validated item, ready to insert."""

    actor: User
    subject: str
    text: str
    html: str
    requester: User
    organization: Organization | None
    channel: str
    priority: int
    category: Category | None
    tags: list[str]
    team: Team | None
    assignee: User | None
    fields: dict[str, Any]
    by_customer: bool
    routed_team: Team | None = None
    attachments: Sequence[AttachmentIn] = ()
    watchers: list[User] = field(default_factory=list)
    outcome: rules.Outcome | None = None
    routed: dict[str, Any] | None = None


TicketPlan = _Plan


def _indexed(exc: DomainError, index: int) -> dict[str, Any]:
    """The error's fields under `tickets.<index>.` (the item itself when it names none)."""
    if not exc.fields:
        return {f"tickets.{index}": exc.code}
    return {f"tickets.{index}.{key}": value for key, value in exc.fields.items()}


def _validate(actor: User, item: NewTicket, definitions: dict[str, CustomField]) -> _Plan:
    """`ticket_create`'s checks, in its order, for one item."""
    requester = item.requester
    tags = list(item.tags)
    is_customer = not actor.is_staff_member
    if is_customer:
        if requester is not None and requester.pk != actor.pk:
            raise PermissionDenied(_("Customers open tickets for themselves only."))
        if item.team is not None or item.assignee is not None or tags or item.organization:
            raise PermissionDenied(_("Customers cannot set team, assignee, tags or organization."))
        if _priority(item.priority) != Priority.NORMAL:
            raise PermissionDenied(_("Customers cannot set the priority."))
        requester = actor
    elif requester is None:
        raise ValidationError(_("Requester is required."), fields={"requester": "required"})
    if item.channel not in Channel.values:
        raise ValidationError(_("Unknown channel."), fields={"channel": "invalid"})
    subject = _clean_subject(item.subject)
    text, clean_html = _clean_body(item.body, item.body_html)
    priority = _priority(item.priority)
    tag_names = _tag_names(tags)
    _check_category(item.category)
    fields = validate_custom_fields(
        item.custom_fields or {}, customer=is_customer, definitions=definitions
    )
    validate_attachments(item.attachments)
    if item.assignee is not None and not item.assignee.is_staff_member:
        raise ValidationError(_("The assignee must be an agent."), fields={"assignee": "not_agent"})
    return _Plan(
        actor=actor,
        subject=subject,
        text=text,
        html=clean_html,
        requester=requester,
        organization=item.organization,
        channel=item.channel,
        priority=priority,
        category=item.category,
        tags=tag_names,
        team=item.team,
        assignee=item.assignee,
        fields=fields,
        by_customer=is_customer or actor.pk == requester.pk,
        routed_team=item.routed_team,
        attachments=item.attachments,
        watchers=list({user.pk or id(user): user for user in item.watchers}.values()),
    )


def ticket_plan(
    *, actor: User, item: NewTicket, definitions: dict[str, CustomField] | None = None
) -> TicketPlan:
    """Validate one ticket as `services.ticket_create` does (same errors, unindexed), for
    `ticket_create_planned`. `definitions`: the active custom fields by key, read once."""
    if definitions is None:
        definitions = memo(
            "tickets.custom_fields",
            lambda: {field.key: field for field in CustomField.objects.filter(is_active=True)},
        )
    return _validate(actor, item, definitions)


def _validate_all(actor: User, items: Sequence[NewTicket]) -> list[_Plan]:
    """Validate every item; a refusal (403, 413) stops at once, validation errors of all
    items are reported together (422), each under its item's index."""
    if not items:
        raise ValidationError(_("Give at least one ticket."), fields={"tickets": "empty"})
    if len(items) > MAX_BULK:
        raise ValidationError(
            _("At most %(count)s tickets per request.") % {"count": MAX_BULK},
            fields={"tickets": f"at most {MAX_BULK}"},
        )
    definitions = {field.key: field for field in CustomField.objects.filter(is_active=True)}
    plans: list[_Plan] = []
    errors: dict[str, Any] = {}
    for index, item in enumerate(items):
        try:
            plans.append(_validate(actor, item, definitions))
        except ValidationError as exc:
            errors.update(_indexed(exc, index))
        except DomainError as exc:
            raise type(exc)(exc.message, fields=_indexed(exc, index)) from None
    if errors:
        raise ValidationError(_("Some tickets of the batch are invalid."), fields=errors)
    return plans


def _organizations(plans: Sequence[_Plan]) -> None:
    # The requesters' organizations (and plans) with one query, not one per ticket.
    wanted = {plan.requester.organization_id for plan in plans if plan.organization is None}
    wanted.discard(None)
    organizations = Organization.objects.select_related("plan").in_bulk(wanted) if wanted else {}
    for plan in plans:
        if plan.organization is None and plan.requester.organization_id is not None:
            plan.organization = organizations[plan.requester.organization_id]


def _route(plans: Sequence[_Plan]) -> None:
    """Apply the routing rules to every plan (`ticket_create`'s routing, rules read once)."""
    drafts = []
    for plan in plans:
        org = plan.organization
        drafts.append(
            rules.Draft(
                subject=plan.subject,
                text=plan.text,
                channel=plan.channel,
                priority=plan.priority,
                category_id=plan.category.pk if plan.category is not None else None,
                organization_id=org.pk if org is not None else None,
                plan_id=org.plan_id if org is not None else None,
                language=plan.requester.language,
                sender_email=plan.requester.email,
            )
        )
    outcomes = rules.evaluate_many(drafts)
    wanted = {o.team_id for o in outcomes if o is not None and o.team_id is not None}
    teams = Team.objects.in_bulk(wanted) if wanted else {}
    for plan, outcome in zip(plans, outcomes, strict=True):
        if outcome is None:
            continue
        routed: dict[str, Any] = {}
        if plan.team is None and outcome.team_id is not None:
            plan.team = routed["team"] = teams[outcome.team_id]
        if outcome.priority is not None and outcome.priority > plan.priority:
            plan.priority = outcome.priority
            routed["priority"] = Priority(plan.priority).key
        added = [name for name in _tag_names(outcome.tags) if name not in plan.tags]
        if added:
            plan.tags += added
            routed["tags"] = added
        plan.outcome, plan.routed = outcome, routed


def _tags(names: set[str]) -> dict[str, Tag]:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in sorted(names) if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return existing


def ticket_create_many(*, actor: User, items: Sequence[NewTicket]) -> list[Ticket]:
    """Open up to `MAX_BULK` tickets at once, each as `services.ticket_create` would; all or
    nothing. Errors name the item: `{"tickets.3.subject": "required"}`. The tickets come
    back in the order of `items`."""
    return [ticket for ticket, _message in ticket_create_planned(_validate_all(actor, items))]


def ticket_create_planned(plans: Sequence[TicketPlan]) -> list[tuple[Ticket, Message]]:
    """Open the tickets of validated plans (`ticket_plan`), each as its actor's
    `services.ticket_create` would, then add their watchers as `services.ticket_watch`
    would: one INSERT per table for the batch. Returns (ticket, its first message) per
    plan, in order."""
    if not plans:
        return []
    _organizations(plans)
    _route(plans)
    if any(plan.team is None and plan.routed_team is None for plan in plans):
        default_team = Team.objects.filter(is_default=True).first()
    else:
        default_team = None
    for plan in plans:
        plan.team = plan.team or plan.routed_team or default_team
    now = timezone.now()
    tickets = []
    for plan in plans:
        org = plan.organization
        plan_row = org.plan if org is not None and org.plan_id else None
        customer_since = org.created_at if org is not None else plan.requester.date_joined
        tickets.append(
            Ticket(
                subject=plan.subject,
                requester=plan.requester,
                organization=org,
                channel=plan.channel,
                status=Status.OPEN if plan.assignee else Status.NEW,
                priority=plan.priority,
                category=plan.category,
                team=plan.team,
                assignee=plan.assignee,
                custom_fields=plan.fields,
                message_count=1,
                last_customer_message_at=now if plan.by_customer else None,
                queue_at=ordering.queue_at(
                    arrival=now,
                    priority=plan.priority,
                    plan_weight=plan_row.priority_weight if plan_row is not None else None,
                    customer_since=customer_since,
                ),
            )
        )
    with transaction.atomic():
        Ticket.objects.bulk_create(tickets)
        tag_names = {name for plan in plans for name in plan.tags}
        if tag_names:
            tags = _tags(tag_names)
            Ticket.tags.through.objects.bulk_create(
                Ticket.tags.through(ticket_id=ticket.pk, tag_id=tags[name].pk)
                for ticket, plan in zip(tickets, plans, strict=True)
                for name in plan.tags
            )
        messages = Message.objects.bulk_create(
            Message(
                ticket=ticket,
                author=plan.requester if plan.by_customer else plan.actor,
                kind=Message.Kind.PUBLIC,
                body_text=plan.text,
                body_html=plan.html,
                channel=plan.channel,
            )
            for ticket, plan in zip(tickets, plans, strict=True)
        )
        attachments = [
            attachment_row(message, item)
            for message, plan in zip(messages, plans, strict=True)
            for item in plan.attachments
        ]
        if attachments:
            Attachment.objects.bulk_create(attachments)
        watching = [
            Ticket.watchers.through(ticket_id=ticket.pk, user_id=user.pk)
            for ticket, plan in zip(tickets, plans, strict=True)
            for user in plan.watchers
        ]
        if watching:
            Ticket.watchers.through.objects.bulk_create(watching)
        # Per ticket: its TicketCreated, then one WatchersChanged per watcher.
        emitted: list[tuple[Any, tuple[str, Any]]] = []
        actors: list[User | None] = []
        for ticket, plan, message in zip(tickets, plans, messages, strict=True):
            created = events.TicketCreated(
                ticket_id=ticket.pk,
                requester_id=plan.requester.pk,
                organization_id=ticket.organization_id,
                team_id=ticket.team_id,
                channel=plan.channel,
                priority=Priority(plan.priority).key,
                status=ticket.status,
                message_id=message.pk,
            )
            emitted.append((created, ("ticket", ticket.pk)))
            actors.append(plan.actor)
            for user in plan.watchers:
                changed = events.WatchersChanged(
                    ticket_id=ticket.pk, user_id=user.pk, watching=True
                )
                emitted.append((changed, ("ticket", ticket.pk)))
                actors.append(user)
        records = emit_many(emitted, actors=actors)
        AuditEntry.objects.bulk_create(_audit_entries(tickets, plans, records))
    return list(zip(tickets, messages, strict=True))


def _audit_entries(
    tickets: list[Ticket], plans: Sequence[_Plan], records: list[Any]
) -> list[AuditEntry]:
    entries = []
    created = iter(records)
    for ticket, plan in zip(tickets, plans, strict=True):
        record = next(created)
        by = plan.actor if plan.actor.pk else None
        after = {
            "status": ticket.status,
            "priority": Priority(plan.priority).key,
            "team": ticket.team_id,
            "assignee": ticket.assignee_id,
            "channel": plan.channel,
        }
        entries.append(
            AuditEntry(ticket=ticket, actor=by, action="created", after=after, event_id=record.uuid)
        )
        if plan.outcome is not None and plan.routed:
            routed = plan.routed
            entries.append(
                AuditEntry(
                    ticket=ticket,
                    actor=None,
                    action="routed",
                    after={**routed, "team": routed["team"].pk} if "team" in routed else routed,
                    note=_routing_reason(plan.outcome.rule.name, routed),
                    event_id=record.uuid,
                )
            )
        for user in plan.watchers:
            watched = next(created)
            entries.append(
                AuditEntry(
                    ticket=ticket,
                    actor=user if user.pk else None,
                    action="watcher_added",
                    field="watchers",
                    after=user.pk,
                    event_id=watched.uuid,
                )
            )
    return entries
