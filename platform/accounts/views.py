"""Sign-up and API tokens. Log in and out are Django's own views (see urls.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import services
from .forms import SignupForm, TokenForm


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.create_account(
            username=form.cleaned_data["username"],
            email=form.cleaned_data.get("email", ""),
            password=form.cleaned_data["password1"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Pick a lab to start.")
        return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = services.issue_token(user=request.user, name=form.cleaned_data["name"])
        form = TokenForm()
    context = {"form": form, "new_token": new_token, "tokens": request.user.api_tokens.all()}
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    if not services.revoke_token(user=request.user, token_id=token_id):
        raise Http404("No such token among yours.")
    messages.success(request, "Token revoked.")
    return redirect("tokens")
