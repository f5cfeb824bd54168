from django.contrib import admin

from .models import Lab, LabVersion


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "owner", "current_version", "updated_at")
    search_fields = ("slug", "title")
    readonly_fields = ("created_at", "updated_at")


@admin.register(LabVersion)
class LabVersionAdmin(admin.ModelAdmin):
    """Versions are published by import_labs and never edited."""

    list_display = ("lab", "version", "short_hash", "queue", "pass_bar", "imported_at")
    list_filter = ("queue", "lab")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
