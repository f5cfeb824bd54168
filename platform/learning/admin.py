from django.contrib import admin

from .models import Draft


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    list_display = ("learner", "lab", "size", "updated_at")
    list_filter = ("lab",)
    search_fields = ("learner__username", "lab__slug")
    readonly_fields = ("learner", "lab", "lab_version", "files", "size", "updated_at")
