from django.urls import path

from . import views

urlpatterns = [
    path("u/<slug:handle>/", views.portfolio, name="portfolio"),
    path("u/<slug:handle>/labs/<slug:slug>/", views.portfolio_lab, name="portfolio_lab"),
    path("portfolio/", views.settings_page, name="portfolio_settings"),
    path("skills/<slug:tag>/", views.skill, name="skill"),
]
