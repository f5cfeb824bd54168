from __future__ import annotations

from typing import Any

from django import forms

CONFIRM = "delete my account"


class DeleteAccountForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               help_text="Your password, to be sure it is you.")
    confirm = forms.CharField(label=f'Type "{CONFIRM}"', help_text="This cannot be undone.")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password

    def clean_confirm(self) -> str:
        text = self.cleaned_data["confirm"].strip().lower()
        if text != CONFIRM:
            raise forms.ValidationError(f'Type exactly "{CONFIRM}" to confirm.')
        return text
