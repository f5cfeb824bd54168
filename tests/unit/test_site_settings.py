"""Settings come from the environment and fail loudly; platform/ never shadows the stdlib."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skillforge.env import EnvError, env_bool, env_choice, env_database, env_int, env_list, env_str, env_url

REPO = Path(__file__).resolve().parents[2]
PROD_KEY = "x" * 20 + "-production-secret-key-for-tests-only-" + "y" * 20


def manage(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, str(REPO / "manage.py"), *args], cwd=REPO, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


# --- the platform/ folder is a source root, not a package -------------------------------


def test_stdlib_platform_and_uuid_work_under_pytest():
    import platform
    import uuid

    assert platform.system()
    assert Path(platform.__file__).parent != REPO / "platform"
    assert uuid.uuid4().version == 4


def test_stdlib_platform_and_uuid_work_under_manage_py():
    code = "import platform, uuid; print(platform.system(), uuid.uuid4().version, platform.__file__)"
    result = manage("shell", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    system, version, where = result.stdout.split()
    assert system == __import__("platform").system()
    assert version == "4"
    assert not where.startswith(str(REPO / "platform"))


def test_there_is_no_platform_package():
    assert not (REPO / "platform" / "__init__.py").exists()


# --- the helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("YES", True), ("on", True),
                                          ("0", False), ("false", False), ("no", False), ("", False)])
def test_env_bool_reads_the_usual_words(raw, expected):
    assert env_bool("FLAG", not expected, environ={"FLAG": raw}) is expected


def test_env_bool_default_when_unset():
    assert env_bool("FLAG", True, environ={}) is True


def test_env_bool_fails_loudly_on_a_typo():
    with pytest.raises(EnvError, match=r"DEBUG: must be one of .* got 'ture'"):
        env_bool("DEBUG", False, environ={"DEBUG": "ture"})


def test_env_str_required():
    with pytest.raises(EnvError, match="SECRET_KEY: is required"):
        env_str("SECRET_KEY", environ={})
    assert env_str("X", "d", environ={}) == "d"


def test_env_int():
    assert env_int("N", 3, environ={"N": " 7 "}) == 7
    with pytest.raises(EnvError, match="must be an integer, got 'seven'"):
        env_int("N", 3, environ={"N": "seven"})
    with pytest.raises(EnvError, match="at least 10"):
        env_int("N", 30, minimum=10, environ={"N": "5"})


def test_env_list():
    assert env_list("HOSTS", ["a"], environ={}) == ["a"]
    assert env_list("HOSTS", ["a"], environ={"HOSTS": "example.org, www.example.org"}) == ["example.org",
                                                                                        "www.example.org"]
    assert env_list("HOSTS", ["a"], environ={"HOSTS": ""}) == []
    with pytest.raises(EnvError, match="empty item"):
        env_list("HOSTS", [], environ={"HOSTS": "a,,b"})
    with pytest.raises(EnvError, match="whitespace"):
        env_list("HOSTS", [], environ={"HOSTS": "a b"})


def test_env_choice():
    assert env_choice("S", "auto", ("auto", "docker"), environ={"S": "docker"}) == "docker"
    with pytest.raises(EnvError, match="S: must be one of auto, docker; got 'dokcer'"):
        env_choice("S", "auto", ("auto", "docker"), environ={"S": "dokcer"})


def test_env_database():
    pg = env_database("DATABASE_URL", "sqlite:///x", environ={"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"})
    assert pg["ENGINE"] == "django.db.backends.postgresql" and pg["NAME"] == "test" and pg["PORT"] == 5432
    lite = env_database("DATABASE_URL", "sqlite:////tmp/x.sqlite3", environ={})
    assert lite["ENGINE"] == "django.db.backends.sqlite3" and lite["NAME"] == "/tmp/x.sqlite3"
    for bad in ("postgres:/nohost", "mysqlx://h/db", "not a url", "postgres://host"):
        with pytest.raises(EnvError, match="DATABASE_URL"):
            env_database("DATABASE_URL", "sqlite:///x", environ={"DATABASE_URL": bad})


def test_env_url():
    assert env_url("REDIS_URL", None, schemes=("redis",), environ={}) is None
    assert env_url("REDIS_URL", None, schemes=("redis",), environ={"REDIS_URL": "redis://h:6379/0"}) == "redis://h:6379/0"
    with pytest.raises(EnvError, match="REDIS_URL: must be a URL starting with redis://"):
        env_url("REDIS_URL", None, schemes=("redis",), environ={"REDIS_URL": "127.0.0.1:6379"})


# --- the settings module, in a fresh process ------------------------------------------------


def settings_value(expr: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return manage("shell", "-v", "0", "-c", f"from django.conf import settings; print({expr})", env=env)


@pytest.mark.parametrize("env,needle", [
    ({"DEBUG": "0"}, "SECRET_KEY: is required"),
    ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY: must be at least 50"),
    ({"DEBUG": "0", "SECRET_KEY": PROD_KEY}, "ALLOWED_HOSTS: is required"),
    ({"DEBUG": "ture"}, "DEBUG: must be one of"),
    ({"DATABASE_URL": "postgres:/oops"}, "DATABASE_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL: must be a URL"),
    ({"SKILLFORGE_SANDBOX": "chroot"}, "SKILLFORGE_SANDBOX: must be one of auto, docker, bubblewrap"),
])
def test_malformed_settings_stop_the_process_with_the_variable_named(env, needle):
    result = settings_value("settings.DEBUG", {"DEBUG": "1", **env})
    assert result.returncode != 0
    assert needle in result.stderr


def test_embedded_defaults(tmp_path):
    env = {"DEBUG": "1", "SKILLFORGE_DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": "", "REDIS_URL": "",
           "DATABASE_URL": ""}
    result = settings_value("settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'], "
                            "settings.DATABASES['default']['NAME'], settings.SKILLFORGE_DATA_DIR", env)
    assert result.returncode == 0, result.stderr
    broker, folder, db_name, data_dir = result.stdout.split()
    assert broker == "filesystem://"
    assert folder == str(tmp_path / "broker" / "queue")
    assert db_name == str(REPO / "var" / "db.sqlite3")
    assert data_dir == str(tmp_path)


def test_redis_url_becomes_the_broker_with_a_long_visibility_timeout():
    result = settings_value("settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout']",
                            {"REDIS_URL": "redis://127.0.0.1:6379/3", "CELERY_BROKER_URL": ""})
    assert result.returncode == 0, result.stderr
    broker, timeout = result.stdout.split()
    assert broker == "redis://127.0.0.1:6379/3"
    from sandbox import CEILING

    assert int(timeout) > CEILING.wall_seconds


def test_production_settings_pass_check_deploy(tmp_path):
    env = {"DEBUG": "0", "SECRET_KEY": PROD_KEY, "ALLOWED_HOSTS": "skillforge.example.org",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SKILLFORGE_DATA_DIR": str(tmp_path)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_celery_app_is_configured_for_safe_delivery():
    from sandbox import CEILING
    from skillforge.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert {q.name for q in conf.task_queues} == {"cpu", "gpu"}
    assert conf.task_default_queue == "cpu"
    from django.conf import settings

    assert settings.CELERY_VISIBILITY_TIMEOUT > CEILING.wall_seconds
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks.py
    task = app.tasks["submissions.grade_attempt"]
    assert task.acks_late is True and task.reject_on_worker_lost is True
