from django.contrib import admin, messages

from . import services
from .models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Credentials are issued by grading and never edited; staff may revoke them."""

    list_display = ("id", "learner", "lab_version", "score", "issued_at", "revoked_at")
    list_filter = ("revoked_at", "lab_version__lab")
    search_fields = ("id", "learner__username")
    readonly_fields = [f.name for f in Credential._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke (reason: revoked by an administrator)")
    def revoke(self, request, queryset):
        for credential in queryset.filter(revoked_at__isnull=True):
            services.revoke(credential=credential, reason=f"revoked by the administrator {request.user.get_username()}")
        messages.success(request, "Revoked; the status list is re-signed.")
