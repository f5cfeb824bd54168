from __future__ import annotations

from django import forms

from .models import RESERVED_HANDLES, Portfolio


class PortfolioForm(forms.ModelForm):
    class Meta:
        model = Portfolio
        fields = ["handle", "public", "display_name", "headline", "private_identity"]
        labels = {"public": "Publish my portfolio", "private_identity": "Private identity in new credentials"}

    def clean_handle(self) -> str | None:
        handle = (self.cleaned_data.get("handle") or "").strip().lower()
        if not handle:
            return None
        if handle in RESERVED_HANDLES:
            raise forms.ValidationError("That handle is reserved; pick another.")
        return handle

    def clean(self) -> dict:
        data = super().clean()
        if data.get("public") and not data.get("handle"):
            self.add_error("handle", "Choose a handle to publish your portfolio: it is your page's address.")
        return data
