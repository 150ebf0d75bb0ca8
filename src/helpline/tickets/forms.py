"""Forms of the desk and the portal. They parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from helpline.tickets.catalog import CategoryNode
from helpline.tickets.models import Priority, Status, TicketLink
from helpline.tickets.services import MAX_ATTACHMENTS, AttachmentIn


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in files]
        if len(cleaned) > MAX_ATTACHMENTS:
            raise forms.ValidationError(_("At most %(count)s files.") % {"count": MAX_ATTACHMENTS})
        limit = settings.HELPLINE_MAX_ATTACHMENT_BYTES
        for upload in cleaned:
            if upload.size is not None and upload.size > limit:
                raise forms.ValidationError(_("%(name)s is too large.") % {"name": upload.name})
        return cleaned


def to_attachments(files: list[UploadedFile]) -> list[AttachmentIn]:
    return [
        AttachmentIn(
            filename=upload.name or "attachment",
            content_type=upload.content_type or "application/octet-stream",
            data=upload.read(),
        )
        for upload in files
    ]


def category_choices(roots: list[CategoryNode]) -> list[tuple[str, str]]:
    """The category tree as select options, children indented under their parent."""
    rows: list[tuple[str, str]] = []

    def walk(nodes: list[CategoryNode], depth: int) -> None:
        for node in nodes:
            rows.append((str(node.id), "— " * depth + node.name))
            walk(node.children, depth + 1)

    walk(roots, 0)
    return rows


def _body(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label, widget=forms.Textarea(attrs={"rows": 5}), max_length=200_000, strip=True
    )


class ReplyForm(forms.Form):
    body = _body(_("Reply to the customer"))
    status = forms.ChoiceField(label=_("Then set the status to"), required=False, choices=())
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args: Any, statuses: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("(unchanged)"))]
        choices += [(value, Status(value).label) for value in statuses or []]
        self.fields["status"].choices = choices  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    body = _body(_("Internal note (agents only)"))
    attachments = MultipleFileField(label=_("Attachments"))


class PropertiesForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=())
    priority = forms.ChoiceField(label=_("Priority"), choices=[(p.key, p.label) for p in Priority])
    category = forms.ChoiceField(label=_("Category"), required=False, choices=())
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
    )

    def __init__(
        self, *args: Any, statuses: list[str], categories: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(s, Status(s).label) for s in statuses]  # type: ignore[attr-defined]
        self.fields["category"].choices = [("", "—"), *categories]  # type: ignore[attr-defined]

    def tag_list(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()]


class TransferForm(forms.Form):
    team = forms.ChoiceField(label=_("Team"), choices=())
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, teams: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = teams  # type: ignore[attr-defined]


class EscalateForm(forms.Form):
    note = forms.CharField(
        label=_("Hand-off note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the next line needs to know. Required."),
    )


class MergeForm(forms.Form):
    target = forms.IntegerField(
        label=_("Merge into ticket number"),
        min_value=1,
        help_text=_("This ticket is closed and its messages move to that ticket."),
    )


class LinkForm(forms.Form):
    other = forms.IntegerField(label=_("Ticket number"), min_value=1)
    kind = forms.ChoiceField(label=_("Link type"), choices=TicketLink.Kind.choices)


class RequestForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=250)
    description = _body(_("Description"))
    category = forms.ChoiceField(label=_("Category"), required=False, choices=())
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("(choose if it fits)")), *categories]  # type: ignore[attr-defined]


class PortalReplyForm(forms.Form):
    body = _body(_("Your reply"))
    attachments = MultipleFileField(label=_("Attachments"))


class VisitorRequestForm(RequestForm):
    """A request from a visitor who is not signed in: a contact address is required."""

    email = forms.EmailField(
        label=_("Your e-mail"),
        help_text=_("We send you a link to follow your request there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    field_order = ["email", "name", "subject", "description", "category", "attachments"]
