from django.contrib import admin

from .models import Attempt, Submission


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("status", "score", "passed", "message", "queued_at", "started_at", "finished_at", "digest")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "learner", "lab_version", "source", "status", "created_at")
    list_filter = ("status", "source", "lab_version__lab")
    search_fields = ("learner__username", "id")
    readonly_fields = ("id", "learner", "lab_version", "source", "status", "message", "content_hash", "created_at")
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "submission", "status", "score", "passed", "queued_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("submission", "status", "message", "queued_at", "started_at", "finished_at", "report",
                       "score", "passed", "digest")
