"""Hostile submissions, each through the real API, pipeline and sandbox, on both backends.

Every attack is a `main.py` in tests/security/attacks/ (some with extra files) submitted
to the attack lab as Mallory. `attack()` (conftest.py) checks what must hold for every
one of them: one submission and one attempt in the database, finished; the stored files
and the published lab unchanged; the report valid; no pass; no secret (the worker's
environment, the host canary, the hidden answer) anywhere the learner can look. The
autouse `host_guard` then proves the host is as it was: no containers, processes, temp
folders or cgroups left, no files written outside the sandbox, canaries untouched.

The tests below assert each attack's own outcome: the attempt's status, the sandbox's
termination (report.run.termination), the score and the message the learner reads, and
what the attack itself saw (its SFPROBE line) where that shows the door was shut.
"""

from __future__ import annotations

import json

import pytest
from security_support import ANSWER, ATTACK_LAB, ENV_SECRETS, attack_files

pytestmark = pytest.mark.django_db

OK_BUT_WRONG = 0.4  # exits cleanly and prints something, but not the code: 2 of 5 points
TIME_LIMIT_MSG = "Your program ran past the time limit (5 s) and was stopped."  # the driver's learner timeout


def graded(outcome, *, termination: str = "ok", score: float = OK_BUT_WRONG, summary: str = "") -> None:
    """The attempt was graded (not an error), ended as `termination`, scored `score`, and
    the learner reads `summary` in the attempt's message (and the report's summary)."""
    a = outcome.attempt
    assert a.status == "graded", outcome.describe()
    assert outcome.run["termination"] == termination, outcome.describe()
    assert a.score == score, outcome.describe()
    assert a.message == outcome.report["summary"]
    assert summary in a.message, outcome.describe()


# --- controls: the lab grades honest work, so a failing attack is not a broken lab ---------


def test_control_the_solution_passes(attack, backend):
    outcome = attack({"main.py": (ATTACK_LAB / "solution" / "main.py").read_text()}, may_pass=True)
    graded(outcome, score=1.0, summary="3 of 3 checks passed")
    assert outcome.attempt.passed is True


def test_control_the_starter_fails(attack, backend):
    outcome = attack({"main.py": (ATTACK_LAB / "starter" / "main.py").read_text()})
    graded(outcome, summary="2 of 3 checks passed")
    assert outcome.checks["answer"]["message"].startswith("0 of 1 answers match")
    assert ANSWER not in json.dumps(outcome.report)  # a match check never quotes the expected value


# --- reading what is not ours ------------------------------------------------------------


def test_host_files_proc_environ_and_grader_files_are_out_of_reach(attack, backend):
    outcome = attack("read_host_files")
    graded(outcome)
    probe = outcome.probe
    assert probe["found"] == []  # no canary text anywhere in the sandbox's filesystem
    assert probe["read"] == []  # none of PID 1's files, /grader, /out, /etc/shadow, /root
    for path in ("/proc/1/environ", "/proc/1/root/etc/hostname", "/grader/driver.py", "/grader/sfharness.py",
                 "/etc/shadow"):
        assert probe["denied"][path] in ("PermissionError", "FileNotFoundError"), path
    # The host folders behind the mounts are named in mountinfo but do not exist inside.
    staged = [p for p in probe["host_paths_seen"] if "/sf-run-" in p]
    assert staged and all(probe["denied"][p] == "FileNotFoundError" for p in staged)


def test_the_workers_secrets_never_reach_the_sandbox(attack, backend, secret_env):
    import os

    assert os.environ["SKILLFORGE_TEST_SECRET"] == ENV_SECRETS["SKILLFORGE_TEST_SECRET"]  # the grader has them
    outcome = attack("environment")
    graded(outcome)
    probe = outcome.probe
    # the learner's environment is the harness's fixed one plus which device the sandbox has
    assert probe["keys"] == ["CUDA_VISIBLE_DEVICES", "HOME", "LANG", "PATH", "PYTHONDONTWRITEBYTECODE",
                             "PYTHONUNBUFFERED", "SKILLFORGE_DEVICE"]
    assert probe["found"] == []
    assert probe["denied"]["1"] == "PermissionError"  # /proc/1/environ
    assert all(v == "PermissionError" for v in probe["denied"].values())  # the driver's too


def test_no_container_engine_socket_or_port_inside(attack, backend):
    outcome = attack("docker_socket")
    graded(outcome)
    probe = outcome.probe
    assert probe["exists"] == [] and probe["sockets"] == [] and probe["connected"] == []
    assert probe["errors"]["/var/run/docker.sock"] == "FileNotFoundError"


# --- the driver's results: links, devices, fake files ----------------------------------------


def test_result_file_cannot_be_a_link_fifo_or_learner_written(attack, backend):
    outcome = attack("out_links")
    graded(outcome)
    probe = outcome.probe
    for step in ("symlink_out", "symlink_out_tmp", "hardlink_out", "fifo_out", "write_out", "list_out",
                 "hardlink_grader_into_work", "read_through_symlink"):
        assert probe[step] == "PermissionError", step
    # Hard links across mounts are impossible (EXDEV), whatever the permissions.
    assert probe["hardlink_submission_into_work"] == probe["hardlink_etc_into_tmp"] == "OSError"
    assert probe["symlink_grader_into_work"] == "ok"  # a dangling link in the learner's own /work is harmless
    assert outcome.checks["clean_exit"]["status"] == "pass"  # the driver still wrote its own results


def test_device_files_absent_and_mknod_refused(attack, backend):
    outcome = attack("devices")
    graded(outcome)
    probe = outcome.probe
    assert probe["opened"] == [] and probe["made"] == []
    assert not {"sda", "vda", "mem", "kmem", "port", "kmsg", "loop0", "fuse"} & set(probe["dev"])
    for node in ("/tmp/sda", "/tmp/mem", "/work/vda", "/work/kmsg"):
        assert probe["errors"][node] == "PermissionError"


def test_fake_result_files_are_refused_or_ignored(attack, backend):
    outcome = attack("fake_results")
    graded(outcome)
    probe = outcome.probe
    for path in ("/out/observations.json", "/out/observations.json.tmp", "/grader/observations.json",
                 "/grader/driver.py", "chmod /out"):
        assert probe[path] == "PermissionError", path
    for path in ("/submission/main.py", "/observations.json"):  # read-only mounts: EROFS
        assert probe[path] == "OSError", path
    assert probe["/work/observations.json"] == "ok"  # written, and never read by anyone
    assert outcome.checks["answer"]["status"] == "fail"


def test_fake_verdicts_on_stdout_and_stderr_are_just_text(attack, backend):
    outcome = attack("fake_markers")
    graded(outcome)
    assert outcome.checks["answer"]["status"] == "fail"
    assert "ALL CHECKS PASSED" in outcome.log  # shown to the learner as their output, nothing more
    assert outcome.report["score"] == OK_BUT_WRONG and outcome.report["passed"] is False


def test_nul_bytes_in_output_are_stored_as_text(require_postgres, attack, backend):
    outcome = attack("nul_bytes")
    graded(outcome)
    assert "\0" not in json.dumps(outcome.report)


# --- resource exhaustion -----------------------------------------------------------------------


@pytest.mark.slow
def test_fork_bomb_is_contained_and_stopped(attack, backend):
    outcome = attack("fork_bomb")
    graded(outcome, score=0.2, summary=TIME_LIMIT_MSG)
    assert outcome.checks["clean_exit"]["status"] == "fail"
    assert outcome.run["wall_seconds"] < 12  # the driver kept control and stopped it itself


def test_memory_bomb_ends_as_memory(attack, backend):
    outcome = attack("memory_bomb")
    graded(outcome, termination="memory", score=0.0,
           summary="Your program used more than 128 MiB of memory and was stopped.")
    assert {c["status"] for c in outcome.report["checks"]} == {"error"}
    assert "survived" not in outcome.log


def test_disk_fill_stops_at_the_scratch_limits_and_nothing_else_is_writable(attack, backend):
    outcome = attack("disk_fill")
    graded(outcome)
    probe = outcome.probe
    limit = 16 * 1024 * 1024
    for folder in ("/work", "/tmp"):
        assert probe[folder]["error"] in ("ENOSPC", "EFBIG") and probe[folder]["written"] <= limit, folder
    for folder in ("/", "/var/tmp", "/run/lock", "/submission", "/usr/local"):
        assert probe[folder] == {"error": "EROFS", "written": 0}, folder
    for folder in ("/grader", "/out"):
        assert probe[folder] == {"error": "EACCES", "written": 0}, folder


def test_dev_shm_is_within_the_disk_limit(attack, backend):
    outcome = attack("dev_shm_fill")
    graded(outcome)
    assert outcome.probe["/dev/shm"]["written"] <= 16 * 1024 * 1024


def test_inode_flood_stops_at_the_scratch_limits(attack, backend):
    outcome = attack("inode_flood")
    graded(outcome)
    for folder, seen in outcome.probe.items():
        assert seen["error"] == "ENOSPC" and seen["made"] < 100_000, (folder, seen)


def test_a_gigabyte_of_stdout_ends_at_the_output_cap(attack, backend):
    outcome = attack("stdout_flood")
    graded(outcome, score=0.2, summary="Your program printed more than 64 KiB of output and was stopped.")
    assert len(outcome.log) <= 4000 and set(outcome.log) == {"A"}
    assert outcome.run["wall_seconds"] < 12


@pytest.mark.slow
def test_infinite_loop_is_stopped_by_the_time_limit(attack, backend):
    outcome = attack("infinite_loop")
    graded(outcome, score=0.2, summary=TIME_LIMIT_MSG)
    assert outcome.log == "spinning"


@pytest.mark.slow
def test_sleeping_forever_deaf_to_sigterm_is_stopped(attack, backend):
    outcome = attack("sleep_forever")
    graded(outcome, score=0.2, summary=TIME_LIMIT_MSG)
    assert 5 <= outcome.run["wall_seconds"] < 12


def test_orphaned_daemon_dies_with_the_sandbox(attack, backend):
    """setsid + double fork, stdio on /dev/null, deaf to SIGTERM: the run ends as soon as
    main.py does, and host_guard finds no process of it afterwards."""
    outcome = attack("orphan_daemon")
    graded(outcome)
    assert outcome.run["wall_seconds"] < 3
    assert "forged" not in json.dumps(outcome.report)


def test_orphaned_daemon_holding_stdout_is_killed_and_the_run_ends(attack, backend):
    """A daemon (setsid, so outside the learner's process group) that keeps the learner's
    stdout open: once main.py exits, the driver waits a moment for the pipes, then kills
    every process of the learner's user. The run ends normally with the learner's log."""
    outcome = attack("orphan_holds_stdout")
    graded(outcome)
    assert outcome.run["wall_seconds"] < 4


# --- the driver and the test framework --------------------------------------------------------


def test_customize_hooks_and_shadow_modules_do_not_touch_the_driver(attack, backend):
    hook = attack_files("hook_module")["main.py"]
    files = attack_files(
        "customize_main",
        **{name: hook for name in ("sitecustomize.py", "usercustomize.py", "sfharness.py", "json.py", "asyncio.py",
                                   "pytest.py", "site.py")},
    )
    files["conftest.py"] = attack_files("conftest_plugin")["main.py"]
    files["pytest.ini"] = "[pytest]\naddopts = -p conftest\n"
    files["zz-hook.pth"] = "import os; open('/tmp/sf-imported-pth-%d' % os.getuid(), 'w').close()\n"
    outcome = attack(files)
    graded(outcome)
    probe = outcome.probe
    assert probe["before"] == []  # nothing submitted was imported by the driver (or by python3 -I main.py)
    # The hooks planted in the user site under HOME=/tmp are live for a Python that is not isolated,
    # and only the learner's own (uid 1002) ever ran them.
    assert "/tmp/sf-imported-usercustomize-1002" in probe["after_plain_python"]
    assert not [m for m in probe["after_plain_python"] if m.endswith("-1001")]
    assert "FORGED" not in json.dumps(outcome.report)


def test_monkeypatching_in_the_learners_process_changes_nothing(attack, backend):
    outcome = attack("monkeypatch_framework")
    graded(outcome)
    assert outcome.checks["answer"]["status"] == "fail"
    assert "=== 3 passed" in outcome.log and "FORGED" not in json.dumps(outcome.checks)


def test_signalling_ptracing_and_pkilling_the_driver_fails(attack, backend):
    outcome = attack("signal_driver")
    graded(outcome)
    probe = outcome.probe
    assert probe["signals"] and set(probe["signals"].values()) == {"PermissionError"}
    assert set(probe["ptrace"].values()) == {"Operation not permitted"}
    assert all(rc != 0 for key, rc in probe.items() if key.startswith(("kill", "pkill", "killall")))


def test_kill_minus_one_reaches_only_the_learners_own_processes(attack, backend):
    outcome = attack("kill_everything")
    graded(outcome)
    assert outcome.probe == {"children": [-9, -9, -9], "driver_alive": True}


def test_sys_exit_at_import(attack, backend):
    outcome = attack("exit_at_import")
    graded(outcome, score=0.2)  # a clean exit that printed nothing
    assert outcome.checks["says_something"]["status"] == "fail"


def test_os_exit_at_import(attack, backend):
    outcome = attack("hard_exit_at_import")
    graded(outcome, score=0.0, summary="Your program exited with status 7; see the log below.")


# --- network -----------------------------------------------------------------------------------


def test_platform_database_and_redis_are_unreachable(attack, backend):
    outcome = attack("host_services")  # in the README's test command both answer on the host's loopback
    graded(outcome)
    probe = outcome.probe
    assert not [v for v in probe.values() if v.startswith("connected")], probe
    assert probe["127.0.0.1:5432"] == probe["127.0.0.1:6379"] == "ConnectionRefusedError"


def test_no_metadata_service_no_dns_no_internet(attack, backend):
    outcome = attack("metadata_dns")
    graded(outcome)
    probe = outcome.probe
    assert probe.pop("interfaces") == ["lo"]
    assert not [k for k, v in probe.items() if v.startswith(("connected", "answered")) or v.startswith("(")], probe


# --- privileges --------------------------------------------------------------------------------


def test_no_way_back_to_root_or_capabilities(attack, backend):
    outcome = attack("privilege_escalation")
    graded(outcome)
    probe = outcome.probe
    assert probe["suid"] == []
    status = probe["status"]
    assert status["Uid"] == ["1002"] * 4 and status["Gid"] == ["1002"] * 4
    assert status["CapEff"] == status["CapPrm"] == status["CapInh"] == status["CapAmb"] == ["0000000000000000"]
    assert status["NoNewPrivs"] == ["1"]
    assert probe["setuid0"] == probe["setgid0"] == probe["setuid1001"] == "PermissionError"
    assert all(rc != 0 for key, rc in probe.items() if key.startswith(("setpriv", "su ", "chown")))


def test_no_user_namespaces_for_the_learner(attack, backend):
    outcome = attack("user_namespace")
    graded(outcome)
    assert all(rc != 0 for rc, _, _ in outcome.probe.values()), outcome.probe
