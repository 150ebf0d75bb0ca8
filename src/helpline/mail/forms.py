"""The mailbox form of the desk's admin screens. It parses input; mail.services decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpline.accounts.models import Team
from helpline.mail.models import Mailbox
from helpline.tickets.models import Category

SETTINGS = (
    "address",
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
)


class MailboxForm(forms.Form):
    address = forms.EmailField(label=_("Address"), max_length=254)
    name = forms.CharField(label=_("Name"), required=False, max_length=100)
    team = forms.ModelChoiceField(
        label=_("Team for new tickets"), required=False, queryset=Team.objects.order_by("name")
    )
    category = forms.ModelChoiceField(
        label=_("Category for new tickets"),
        required=False,
        queryset=Category.objects.order_by("name"),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    way = forms.ChoiceField(label=_("Way in"), choices=Mailbox.Way.choices)
    imap_host = forms.CharField(label=_("IMAP server"), required=False, max_length=255)
    imap_port = forms.IntegerField(label=_("IMAP port"), min_value=1, max_value=65535, initial=993)
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=Mailbox.Security.choices)
    imap_username = forms.CharField(label=_("IMAP user name"), required=False, max_length=255)
    imap_auth = forms.ChoiceField(label=_("IMAP sign-in"), choices=Mailbox.Auth.choices)
    imap_secret = forms.CharField(
        label=_("IMAP password or OAuth2 token"),
        required=False,
        max_length=8192,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the stored one."),
    )
    clear_imap_secret = forms.BooleanField(
        label=_("Remove the stored password or token"), required=False
    )
    imap_folder = forms.CharField(label=_("IMAP folder"), max_length=255, initial="INBOX")
    processed_action = forms.ChoiceField(
        label=_("Processed mail"), choices=Mailbox.Processed.choices
    )
    processed_folder = forms.CharField(
        label=_("Folder for processed mail"), required=False, max_length=255
    )
    follow_up_on_closed = forms.BooleanField(
        label=_("A reply to a closed ticket opens a linked follow-up ticket"),
        required=False,
        initial=True,
    )
    cc_as_watchers = forms.BooleanField(
        label=_("People in Cc of a new request become its watchers"),
        required=False,
        initial=True,
    )

    @classmethod
    def for_mailbox(cls, mailbox: Mailbox, data: Any = None) -> MailboxForm:
        initial = {name: getattr(mailbox, name) for name in SETTINGS}
        return cls(data, initial=initial, auto_id="mailbox-%s")

    def service_arguments(self) -> dict[str, Any]:
        """Keyword arguments of mailbox_create/mailbox_update from the cleaned data."""
        data = self.cleaned_data
        arguments = {name: data[name] for name in SETTINGS}
        secret = data.get("imap_secret") or None
        if data.get("clear_imap_secret"):
            secret = ""
        arguments["imap_secret"] = secret
        return arguments
