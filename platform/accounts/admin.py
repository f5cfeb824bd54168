from django.contrib import admin

from .models import ApiToken, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "role")
    list_filter = ("role",)
    search_fields = ("user__username",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "name")

    def has_add_permission(self, request):  # tokens are issued on the tokens page or by create_token
        return False
