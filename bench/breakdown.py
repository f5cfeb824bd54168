"""Where the time of one grade goes, submit to page update, through the real path.

gunicorn and one real Celery worker run with timers around the functions the path
already calls (bench/_timing.py: measurement only, nothing changed); a client submits
the lab's solution N times over the API, one at a time, and waits for the grade with
`GET ?wait=` (Stack.submit_and_wait).
Each phase's p50 and share of the total:

  API request      HTTP + Django outside the submit use-case
  intake           checks and writes the files;  DB rows: the submission and attempt rows
  enqueue          publish to Redis (on commit)
  queue wait       publish -> the worker's task starts (broker, Celery dispatch)
  claim            the conditional UPDATE (committed)
  worker: rest     what the task does outside the timed steps: the attempt row read
                   before the claim, the lab snapshot (cached), logging
  hash + trusted   the submission's hash, the driver and harness copied for /grader
  sandbox acquire  bubblewrap: cgroup, tmpfs mounts, seccomp;  Docker: a pooled container
  file copy        staging folders made and filled
  run              the sandbox process itself (driver + learner's code)
  sandbox teardown unmount, remove the folders and cgroup (Docker: handed to a reaper)
  report parse     returned files read, observations validated, checks scored, report validated
  DB write         storing the grade;  credential: signing one (after the grade is visible)
  page update      grade committed -> the client has it: its `GET ?wait=` is woken by the
                   worker's announcement (submissions/live.py); the live page waits the same way

    .venv/bin/python bench/breakdown.py [--lab tiny-answer] [--n 20] [--backend bubblewrap] [--raw]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from _stack import PY, Stack, lab_dir, load, multipart, p50, pct, table, zip_folder

from graders import load_lab

BENCH = Path(__file__).resolve().parent


def run(stack: Stack, slug: str, n: int) -> list[dict[str, float]]:
    lab = load_lab(lab_dir(slug))
    body, ctype = multipart("zip", "solution.zip", zip_folder(lab.solution_dir))
    sessions = {}
    client: list[dict[str, float]] = []
    for i in range(n + 1):  # the first warms everything up and is not counted
        learner = stack.learner()
        if learner not in sessions:
            sessions[learner] = stack.session(learner)
        doc = stack.submit_and_wait(slug, body, ctype, learner=learner)
        assert doc["status"] == "graded" and doc["attempt"]["score"] == 1.0, doc
        start = time.perf_counter()
        html = sessions[learner].open(f"{stack.base}/submissions/{doc['id']}/status/").read()
        render = time.perf_counter() - start
        assert b"graded" in html.lower(), html[:500]
        if i:
            client.append({"attempt": doc["attempt"]["id"], "post_start": doc["t_submit"],
                           "post_end": doc["t_posted"], "seen": doc["t_seen"],
                           "finished_at": doc["t_stored"], "render": render})
        time.sleep(0.3)  # let the credential be signed and the worker go idle, as between two learners
    return client


ROWS = [
    ("API request (HTTP, auth, view)", "api"),
    ("intake (checks, files written)", "intake"),
    ("DB rows (submission, attempt)", "dbrows"),
    ("enqueue (publish to Redis)", "enqueue"),
    ("queue wait (publish -> task starts)", "queue"),
    ("claim (conditional UPDATE)", "claim"),
    ("worker: attempt row read, rest", "load"),
    ("hash + trusted payload", "trusted"),
    ("sandbox acquire", "acquire"),
    ("file copy (staging)", "stage"),
    ("run (the sandboxed driver + learner)", "run"),
    ("sandbox teardown", "teardown"),
    ("report parse (read, score, validate)", "parse"),
    ("DB write (store the grade)", "finish"),
    ("page update (commit -> client sees it)", "page"),
]


def phases(client: list[dict[str, float]], timings: Path) -> dict[str, list[float]]:
    web, worker = {}, {}
    for line in timings.read_text().splitlines():
        rec = json.loads(line)
        (web if rec["where"] == "web" else worker)[rec["attempt"]] = rec
    out: dict[str, list[float]] = defaultdict(list)
    for c in client:
        w, k = web[c["attempt"]], worker[c["attempt"]]
        wp, kp = w["phases"], k["phases"]
        out["api"].append((c["post_end"] - c["post_start"]) - wp["submit"])
        out["intake"].append(wp["intake"])
        out["enqueue"].append(wp["enqueue"])
        out["dbrows"].append(wp["submit"] - wp["intake"] - wp["enqueue"])
        # the worker may start the task before the publish call has returned: 0, not negative
        out["queue"].append(max(0.0, k["marks"]["task_started"] - w["marks"]["enqueued"]))
        out["claim"].append(kp["claim"])
        inner = kp.get("acquire", 0) + kp.get("stage", 0) + kp.get("teardown", 0) + kp.get("collect", 0)
        out["acquire"].append(kp.get("acquire", 0))
        out["stage"].append(kp.get("stage", 0))
        out["teardown"].append(kp.get("teardown", 0))
        out["run"].append(kp["runner"] - inner)
        out["trusted"].append(kp.get("hash", 0) + kp.get("trusted", 0))
        out["parse"].append(kp.get("parse", 0) + kp.get("collect", 0))
        out["finish"].append(kp["finish"])
        # the task until _finish's commit, less what is measured above: the attempt row, the spec
        before_finish = kp["task"] - kp["finish"] - kp.get("credential", 0) - kp.get("metrics", 0)
        accounted = (kp["claim"] + kp["runner"] + kp.get("hash", 0) + kp.get("trusted", 0) + kp.get("parse", 0))
        out["load"].append(max(0.0, before_finish - accounted))
        out["page"].append(c["seen"] - c["finished_at"])
        out["total"].append(c["seen"] - c["post_start"])
        out["credential"].append(kp.get("credential", 0))
        out["metrics"].append(kp.get("metrics", 0))
        out["render"].append(c["render"])
        for name, seconds in kp.items():  # the raw timers, for --raw
            out[f"raw {name}"].append(seconds)
        out["raw task - claimed (before the claim: the queue look-up)"].append(kp["task"] - kp["claimed"])
        out["raw run_grading - grade (picking the backend)"].append(kp["run_grading"] - kp["grade"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="tiny-answer")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--backend", default="bubblewrap", choices=("bubblewrap", "docker", "auto"))
    parser.add_argument("--raw", action="store_true", help="also print every worker timer's p50")
    args = parser.parse_args()
    from sandbox import backend as pick

    backend = pick(args.backend)[0]
    with Stack(labs=[args.lab], backend=backend) as stack:
        timings = stack.tmp / "timings.jsonl"
        stack.env["SF_BENCH_TIMINGS"] = str(timings)
        stack.start_workers(1, command=(PY, str(BENCH / "_timed_worker.py")))
        stack.start_web(config=str(BENCH / "_timing.py"))
        client = run(stack, args.lab, args.n)
        got = phases(client, timings)
    total = p50(got["total"])
    rows = [(name, 1000 * p50(got[key]), 1000 * pct(got[key], 0.95), f"{100 * p50(got[key]) / total:.0f}%")
            for name, key in ROWS]
    summed = sum(p50(got[key]) for _, key in ROWS)
    print(f"lab {args.lab}, backend {backend}, n={args.n}, one at a time; {load()}")
    print(table(["phase", "p50 ms", "p95 ms", "of total"], rows))
    print(table(["", "", "", ""], [
        ("sum of the p50s above", 1000 * summed, "", f"{100 * summed / total:.0f}%"),
        ("submit -> client sees graded (p50, p95)", 1000 * total, 1000 * pct(got["total"], 0.95), "100%"),
        ("after the grade is visible: credential", 1000 * p50(got["credential"]), 1000 * pct(got["credential"], 0.95), ""),
        ("after the grade is visible: metrics", 1000 * p50(got["metrics"]), 1000 * pct(got["metrics"], 0.95), ""),
        ("status fragment render (the live page's GET)", 1000 * p50(got["render"]), 1000 * pct(got["render"], 0.95), ""),
    ]).split("\n", 1)[1])
    if args.raw:
        print(table(["raw worker timer", "p50 ms", "p95 ms"],
                    [(k[4:], 1000 * p50(v), 1000 * pct(v, 0.95)) for k, v in sorted(got.items()) if k.startswith("raw ")],
                    first=56))
    os.environ.pop("SF_BENCH_TIMINGS", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
