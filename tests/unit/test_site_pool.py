"""A worker keeps fresh Docker sandboxes ready for every published lab."""

from __future__ import annotations

import time

from test_site_support import fixture_data_dir, fixture_tiny_lab  # noqa: F401 - fixtures, requested by name

from sandbox import docker_backend
from submissions import services


def test_warm_sandboxes_fills_the_pool_for_each_lab(docker_runner, tiny_lab, settings):
    settings.SKILLFORGE_SANDBOX = "docker"
    settings.SKILLFORGE_POOL_SIZE = 1
    spec = tiny_lab.current_version.load_spec()
    try:
        assert services.warm_sandboxes() == 1
        key = (spec.image, spec.limits, ())
        deadline = time.monotonic() + 30
        while docker_backend.POOL.ready(key) < 1:
            assert time.monotonic() < deadline, "the pool never warmed a sandbox for the lab"
            time.sleep(0.05)
    finally:
        docker_backend.configure_pool(0)


def test_no_pool_on_bubblewrap_or_when_disabled(bwrap_runner, tiny_lab, settings):
    settings.SKILLFORGE_SANDBOX = "bubblewrap"
    assert services.warm_sandboxes() == 0
    settings.SKILLFORGE_SANDBOX = "auto"
    settings.SKILLFORGE_POOL_SIZE = 0
    assert services.warm_sandboxes() == 0
