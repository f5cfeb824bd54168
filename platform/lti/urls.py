from django.urls import path
from lti_tool.views import jwks

from . import views

app_name = "lti"

urlpatterns = [
    path("jwks/", jwks, name="jwks"),
    path("login/<uuid:registration_uuid>/", views.LoginView.as_view(), name="login"),
    path("launch/", views.LaunchView.as_view(), name="launch"),
    path("deep-link/", views.deep_link_respond, name="deep_link"),
]
