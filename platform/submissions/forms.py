from __future__ import annotations

from django import forms


class SubmitForm(forms.Form):
    """One textarea per editable starter file (prefilled), plus an optional zip that replaces them."""

    def __init__(self, *args, texts: dict[str, str], notebook: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.file_names = list(texts)
        for i, (name, text) in enumerate(texts.items()):
            rows = max(12, min(40, text.count("\n") + 3))
            self.fields[f"file_{i}"] = forms.CharField(
                label=name, initial=text, required=False, strip=False,
                widget=forms.Textarea(attrs={"class": "code", "rows": rows, "spellcheck": "false",
                                             "autocapitalize": "off", "autocomplete": "off",
                                             "data-filename": name}),
            )
        self.fields["zip"] = forms.FileField(
            required=False, allow_empty_file=True,
            label="Or upload a zip or a Jupyter notebook instead" if notebook else "Or upload a zip instead",
            help_text=("A zip of your files, or one .ipynb notebook, replaces everything in the editor above."
                       if notebook else "A zip of your files replaces everything in the editor above."),
        )

    def edited_files(self) -> dict[str, str]:
        # Browsers send textarea lines with CRLF; the lab expects the starter's LF.
        return {name: self.cleaned_data[f"file_{i}"].replace("\r\n", "\n") for i, name in enumerate(self.file_names)}
