from django.contrib import admin

from .models import LaunchedLab


@admin.register(LaunchedLab)
class LaunchedLabAdmin(admin.ModelAdmin):
    list_display = ("user", "lab", "registration", "last_score", "last_sent_at", "last_error")
    list_filter = ("registration", "lab")
    search_fields = ("user__username", "lab__slug", "lineitem")
    readonly_fields = [f.name for f in LaunchedLab._meta.fields]
