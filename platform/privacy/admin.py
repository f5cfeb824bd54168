from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only, even for staff: the trail is written by the privacy services alone."""

    list_display = ("at", "action", "actor")
    list_filter = ("action",)
    readonly_fields = ("at", "action", "actor", "details")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
