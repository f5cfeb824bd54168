from django.contrib import admin

from .models import GradeOverride, LabDraft, RegradeItem, RegradeJob, ValidationRun


@admin.register(LabDraft)
class LabDraftAdmin(admin.ModelAdmin):
    list_display = ("slug", "owner", "lab", "updated_at")
    search_fields = ("slug",)


@admin.register(ValidationRun)
class ValidationRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "draft", "status", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(RegradeJob)
class RegradeJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "lab", "target", "status", "done", "total", "created_at")
    list_filter = ("status",)


@admin.register(RegradeItem)
class RegradeItemAdmin(admin.ModelAdmin):
    list_display = ("pk", "job", "submission", "status", "old_score", "new_score")


@admin.register(GradeOverride)
class GradeOverrideAdmin(admin.ModelAdmin):
    """The audit log: read-only, even for staff."""

    list_display = ("attempt", "instructor", "created_at", "from_score", "to_score", "reason")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
