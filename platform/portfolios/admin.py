from django.contrib import admin

from .models import LabVisibility, Portfolio


class LabVisibilityInline(admin.TabularInline):
    model = LabVisibility
    extra = 0


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ("user", "handle", "public", "private_identity", "updated_at")
    list_filter = ("public", "private_identity")
    search_fields = ("handle", "user__username")
    inlines = [LabVisibilityInline]
