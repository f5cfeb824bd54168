"""The "workflow" host inspector: expressions, hostile YAML, static checks, simulation.

Everything here is pure data in, data out: no sandbox, no network, no Django.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from graders.inspectors import INSPECTORS, Unavailable, get
from graders.inspectors.workflow import (
    MAX_BYTES,
    Context,
    ExpressionError,
    Scenario,
    WorkflowError,
    build_model,
    compile_condition,
    inspect,
    load_workflow,
    needs_problems,
    parse_expression,
    permission_problems,
    secret_exposures,
    simulate,
    split_template,
    summary,
    tokenize,
    uncached_installs,
    unpinned_actions,
)
from graders.inspectors.workflow import evaluate as evaluate_node

SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"
CONTEXTS = {
    "github": {"event_name": "push", "ref": "refs/heads/main",
               "event": {"pull_request": {"head": {"repo": {"fork": True}}}}},
    "needs": {"eval-gate": {"result": "success", "outputs": {"passed": "true", "score": "0.91"}}},
    "vars": {}, "inputs": {}, "env": {}, "steps": {}, "job": {}, "runner": {}, "matrix": {}, "strategy": {},
}


def ev(text: str, *, status: dict | None = None, **contexts):
    ctx = Context({**CONTEXTS, **contexts}, status or {"success": True, "failure": False, "cancelled": False})
    return evaluate_node(parse_expression(text), ctx)


# -- expressions: values and operators ------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("null", None), ("true", True), ("false", False), ("711", 711.0), ("-9.2", -9.2), ("0xff", 255.0),
    ("-2.99e-2", -0.0299), ("'Mona the Octocat'", "Mona the Octocat"), ("'It''s open source!'", "It's open source!"),
    ("''", ""),
])
def test_literals(text, value):
    assert ev(text) == value


@pytest.mark.parametrize("text, value", [
    ("!2 < 3", True),  # ! binds tighter than <: (!2) < 3 is false < 3 is 0 < 3
    ("!(2 < 3)", False),
    ("1 < 2 == true", True),  # comparison before equality: (1 < 2) == true
    ("false == 1 < 2", False),
    ("true || false && false", True),  # && before ||
    ("(true || false) && false", False),
    ("!github.event.pull_request.head.repo.fork", False),  # . before !
    ("1 == 1 && 2 == 2 || 3 == 4", True),
    ("false && 1 == 1 || 'x'", "x"),
])
def test_precedence(text, value):
    assert ev(text) == value


@pytest.mark.parametrize("text, value", [
    ("'main' == 'MAIN'", True),  # strings compare ignoring case
    ("'abc' < 'ABD'", True),
    ("null == 0", True), ("'' == 0", True), ("'1' == 1", True), ("true == 1", True), ("'true' == true", False),
    ("' 12 ' == 12", True), ("'0x10' == 16", True), ("'abc' == 0", False), ("'abc' != 0", True),
    ("null == false", True), ("github == github", True), ("github == needs", False),
    ("2 > '10'", False), ("'b' > 'A'", True), ("null < 1", True), ("'x' < 1", False), ("'x' >= 1", False),
])
def test_loose_comparison(text, value):
    assert ev(text) is value


@pytest.mark.parametrize("text, value", [
    ("true && 1 && 2", 2.0), ("true && 0 && 2", 0.0), ("true && '' && 'asdf'", ""), ("null && true", None),
    ("false || 'default'", "default"), ("'' || null", None), ("1 || missing_is_never_evaluated", 1.0),
])
def test_and_or_return_an_operand_and_short_circuit(text, value):
    if "missing" in text:
        text = text.replace("missing_is_never_evaluated", "fromJSON('not json')")
    assert ev(text) == value


def test_contexts_properties_and_index():
    assert ev("github.ref") == "refs/heads/main"
    assert ev("github.REF") == "refs/heads/main"  # property names ignore case
    assert ev("github['event_name']") == "push"
    assert ev("needs.eval-gate.result == 'success'") is True  # hyphens belong to the name
    assert ev("needs['eval-gate'].outputs.passed") == "true"
    assert ev("needs.eval-gate.outputs.score >= 0.9") is True  # strings compare with numbers as numbers
    assert ev("github.event.no.such.thing") is None  # missing properties are null, never an error
    assert ev("github.ref.length") is None
    assert ev("fromJSON('[10, 20]')[1]") == 20.0
    assert ev("fromJSON('[10, 20]')[5]") is None


def test_functions():
    assert ev("contains(github.ref, 'HEADS')") is True
    assert ev("contains(fromJSON('[\"push\", \"pull_request\"]'), github.event_name)") is True
    assert ev("contains(fromJSON('[\"a\"]'), 'b')") is False
    assert ev("startsWith(github.ref, 'refs/heads/')") is True
    assert ev("endsWith(github.ref, '/MAIN')") is True
    assert ev("format('{0}/{1} {{x}}', github.event_name, 3)") == "push/3 {x}"
    assert ev("toJSON(fromJSON('{\"a\": 1}'))") == '{\n  "a": 1.0\n}'
    assert ev("fromJSON('true') && StartsWith('ab', 'A')") is True  # function names ignore case
    with pytest.raises(ExpressionError, match="not JSON"):
        ev("fromJSON('{oops')")
    with pytest.raises(ExpressionError, match="no argument"):
        ev("format('{2}', 1)")


def test_status_functions_read_the_context():
    failed = {"success": False, "failure": True, "cancelled": False}
    assert ev("success()") is True and ev("failure()") is False and ev("always()") is True
    assert ev("failure() && !cancelled()", status=failed) is True
    assert ev("success() || always()", status=failed) is True


# -- expressions: bad syntax is a clear error, never a crash --------------------------------


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("github.ref ==", "ends too early"),
    ("(github.ref == 'x'", "expected ')'"),
    ("'unclosed", "never closed"),
    ("github.ref = 'main'", "use '=='"),
    ('github.ref == "main"', "single quotes"),
    ("true & false", "use '&&'"),
    ("true | false", "use '||'"),
    ("github.ref == 'a' 'b'", "unexpected 'b'"),
    ("secrets.TOKEN", "Unrecognized named-value: 'secrets'"),
    ("env.X", "Unrecognized named-value: 'env'"),  # env is not allowed in a job-level if:
    ("hashFiles('x')", "not in the subset"),
    ("success(1)", "takes 0 argument"),
    ("contains('a')", "takes 2 argument"),
    ("github.", "property name after '.'"),
    ("github.[1]", "property name after '.'"),
    ("github[1", "expected ']'"),
    ("startsWith('a' 'b')", "expected ',' or ')'"),
    ("!", "ends too early"),
    ("1 ~ 2", "unexpected character '~'"),
    ("(" * 40 + "1" + ")" * 40, "nested more than"),
    ("1 == " * 300 + "1", "more than 400 tokens"),
    ("'" + "x" * 3000 + "'", "limit is 2000"),
])
def test_bad_syntax_is_a_clear_error(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        compile_condition(text)


def test_random_text_only_ever_raises_expression_errors():
    rng = random.Random(1234)
    alphabet = list("()[].,!<>=&|'\" \t-_0123456789abcxyz") + ["github", "needs", "success", "${{", "}}", "&&",
                                                               "||", "==", "'a''b'", "0x", "e-"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        try:
            node = compile_condition(text)
            evaluate_node(node, Context(CONTEXTS, {"success": True, "failure": False, "cancelled": False}))
        except ExpressionError:
            pass


def test_tokens_carry_columns():
    assert [(t[0], t[2]) for t in tokenize("a == 'b'")] == [("ident", 1), ("op", 3), ("str", 6)]
    with pytest.raises(ExpressionError, match=r"column 12"):
        parse_expression("github.ref ~")


# -- if: conditions -------------------------------------------------------------------------


def cond(value, **status):
    st = {"success": True, "failure": False, "cancelled": False, **status}
    return evaluate_node(compile_condition(value), Context(CONTEXTS, st))


def test_conditions_imply_success_unless_they_use_a_status_function():
    assert cond("github.ref == 'refs/heads/main'") is True
    assert cond("github.ref == 'refs/heads/main'", success=False) is False  # success() && (...)
    assert cond("always() && github.ref == 'refs/heads/main'", success=False) is True
    assert cond(None) is True and cond(None, success=False) is False
    assert cond(False) is False and cond(True, success=False) is False


def test_wrapped_bare_and_mixed_conditions():
    assert cond("${{ github.ref == 'refs/heads/dev' }}") is False
    assert cond("  ${{ github.ref == 'refs/heads/dev' }}  ") is False
    # text around ${{ }} makes a string: always true, as on GitHub
    assert cond("${{ github.ref == 'refs/heads/dev' }} && ${{ false }}") == "false && false"
    assert cond("${{ 'a}}b' }}") == "a}}b"  # }} inside a string does not close the expression
    assert split_template("x ${{ 'a' }} y") == [(False, "x "), (True, " 'a' "), (False, " y")]
    with pytest.raises(ExpressionError, match="no closing"):
        compile_condition("${{ github.ref ")
    with pytest.raises(ExpressionError, match="string or a literal"):
        compile_condition(["a"])


# -- hostile and malformed YAML -------------------------------------------------------------

BOMB = "\n".join(["on: push", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] +
                 [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)] +
                 ["jobs: {x: {runs-on: u, steps: *i}}"])


@pytest.mark.parametrize("data, message", [
    (BOMB.encode(), "billion laughs"),
    (b"on: push\njobs: &j {a: {steps: [*j]}}\n", "recursive"),
    (b"on: push\njobs:\n  a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested more than"),
    (b"on: push\njobs:\n  a: " + b"[" * 100 + b"]" * 100 + b"\n", "nested more than 64"),
    (b"on: push\njobs: {a: {runs-on: x}}\n# " + b"x" * MAX_BYTES, "over 65536 bytes"),
    (b"- a\n- b\n", "not a list"),
    (b"just a string\n", "not a string"),
    (b"42\n", "not int"),
    (b"", "empty"),
    (b"# only a comment\n", "empty"),
    (b"on: push\n---\non: pull_request\n", "expected a single document"),
    (b"on: push\njobs: {a: [unclosed\n", "not valid YAML"),
    (b"on: push\njobs:\n\t- tab\n", "not valid YAML"),
    (b"on: push\njobs: {a: {if: !github.event.pull_request.head.repo.fork}}\n", "YAML reads ! as a tag"),
    (b"on: push\njobs:\n  a:\n    if: !cancelled()\n", "YAML reads ! as a tag"),
    (b"!!python/object/apply:os.system ['id']\n", "not valid YAML"),
    (b"on: push\njobs: {a: !!python/name:os.system ''}\n", "not valid YAML"),
    (b"on: \xff\xfe\n", "not UTF-8"),
    (b"on: push\n", "no jobs"),
    (b"on: push\njobs: []\n", "no jobs"),
    (b"on: push\njobs: {a: [1, 2]}\n", "'a' is not a mapping"),
    (b"on: push\njobs: {1: {runs-on: x}}\n", "'1' is not a mapping"),
    (b"jobs: {a: {runs-on: x}}\n", "no on:"),
    (("on: push\njobs:\n" + "".join(f"  j{i}: {{runs-on: x}}\n" for i in range(300))).encode(), "300 jobs"),
])
def test_hostile_or_malformed_yaml_is_a_clear_error(data, message):
    with pytest.raises(WorkflowError, match=message):
        load_workflow(data)


def test_anchors_that_do_not_explode_are_fine():
    wf = load_workflow(b"on: push\nx: &setup {uses: ./local}\njobs:\n  a: {steps: [*setup, *setup]}\n  b: {steps: [*setup]}\n")
    assert unpinned_actions(wf) == []
    assert load_workflow(b"true: push\njobs: {a: {}}\n")["on"] == "push"  # `on` is read as the boolean true


# -- the inspector entry point --------------------------------------------------------------

def fake_lab(tmp_path: Path, scenarios: list[dict], **options) -> SimpleNamespace:
    (tmp_path / "lab" / "checks").mkdir(parents=True, exist_ok=True)
    (tmp_path / "lab" / "checks" / "s.json").write_text(json.dumps({"scenarios": scenarios}))
    return SimpleNamespace(root=tmp_path / "lab", inspector_options={"scenarios": "s.json", "chain": ["a", "b"],
                                                                      **options})


def write_workflow(root: Path, text: str | bytes) -> Path:
    path = root / "sub" / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return root / "sub"


def test_inspector_is_registered():
    assert INSPECTORS["workflow"] == "graders.inspectors.workflow:inspect"
    assert get("workflow") is inspect


@pytest.mark.parametrize("content", [BOMB.encode(), b"- a\n", b"\xff", b"on: [push\n", None])
def test_inspector_never_raises_on_bad_input(tmp_path, content):
    lab = fake_lab(tmp_path, [{"id": "x", "event": "push", "ref": "refs/heads/main", "observe": "runs"}])
    sub = write_workflow(tmp_path, content) if content is not None else tmp_path / "empty"
    sub.mkdir(exist_ok=True)
    obs = inspect(sub, lab)
    assert set(obs) == {"unpinned_actions", "permission_problems", "needs_problems", "secret_exposures",
                        "uncached_installs", "runs"}
    assert all(isinstance(v, Unavailable) and v.reason.startswith("Your workflow could not be read:")
               for v in obs.values())
    if content is None:
        assert "there is no .github/workflows/ci.yml" in obs["runs"].reason


def test_inspector_reports_an_if_that_does_not_parse_on_the_simulated_checks_only(tmp_path):
    lab = fake_lab(tmp_path, [{"id": "x", "event": "push", "ref": "refs/heads/main", "observe": "runs"}])
    sub = write_workflow(tmp_path, "on: push\npermissions: {contents: read}\njobs:\n  a: {if: \"github.ref = 'x'\"}\n")
    obs = inspect(sub, lab)
    assert obs["permission_problems"] == "none"
    assert isinstance(obs["runs"], Unavailable)
    assert obs["runs"].reason == ("Your workflow could not be simulated (GitHub would reject it too): job a: if: "
                                  "\"github.ref = 'x'\" does not parse: '=' is not an operator: use '==' (column 12).")


def test_inspector_on_a_symlinked_workflow_refuses_it(tmp_path):
    lab = fake_lab(tmp_path, [])
    sub = write_workflow(tmp_path, "on: push\njobs: {a: {}}\n")
    target = sub / ".github" / "workflows" / "ci.yml"
    (tmp_path / "elsewhere.yml").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(tmp_path / "elsewhere.yml")
    assert isinstance(inspect(sub, lab)["unpinned_actions"], Unavailable)


def test_scenarios_reject_unknown_keys(tmp_path):
    lab = fake_lab(tmp_path, [{"id": "x", "event": "push", "ref": "r", "evnt": 1}])
    with pytest.raises(ValueError, match="unknown key 'evnt'"):
        inspect(write_workflow(tmp_path, "on: push\njobs: {a: {}}\n"), lab)


# -- static checks --------------------------------------------------------------------------


def wf_of(text: str) -> dict:
    return load_workflow(text.encode())


def test_unpinned_actions():
    wf = wf_of(f"""
on: push
jobs:
  a:
    steps:
      - uses: actions/checkout@{SHA}
      - uses: actions/checkout@v4
      - uses: actions/setup-python@main
      - uses: actions/cache@{SHA[:7]}
      - uses: ./.github/actions/local
      - uses: docker://alpine@sha256:{'a' * 64}
      - uses: docker://alpine:3.20
      - uses: owner/repo/path/to/action@{SHA.upper()}
      - run: echo no uses here
  b:
    uses: org/workflows/.github/workflows/deploy.yml@v1
  c:
    steps:
      - uses: actions/checkout@v4
""")
    assert unpinned_actions(wf) == [
        "actions/checkout@v4 (jobs a, c)",
        "actions/setup-python@main (job a)",
        "actions/cache@11bd719 (a short SHA is not immutable) (job a)",
        "docker://alpine:3.20 (job a)",
        "org/workflows/.github/workflows/deploy.yml@v1 (job b)",
    ]


@pytest.mark.parametrize("text, problems", [
    ("permissions: {contents: read}\njobs: {a: {}}", []),
    ("permissions: {}\njobs: {a: {permissions: {contents: read}}}", []),
    ("jobs: {a: {}}", ["workflow: no top-level permissions"]),
    ("permissions: write-all\njobs: {a: {}}", ["workflow: write-all grants every scope write access"]),
    ("permissions: read-all\njobs: {a: {}}", ["workflow: read-all grants every scope"]),
    ("permissions: {contents: write}\njobs: {a: {}}", ["workflow: contents: write is more than it needs"]),
    ("permissions: {contents: read, id-token: write}\njobs: {a: {}}", ["workflow: id-token: write is more"]),
    ("permissions: {contents: read}\njobs: {deploy: {permissions: {contents: read, deployments: write}}}", []),
    ("permissions: {contents: read}\njobs: {a: {permissions: {deployments: write}}}", ["job a: deployments: write"]),
    ("permissions: {contents: read}\njobs: {a: {permissions: {contents: admin, bogus: read}}}",
     ["job a: contents: admin is not a valid", "job a: bogus: read is not a valid"]),
    ("permissions: [contents]\njobs: {a: {}}", ["workflow: permissions must map scopes"]),
    ("permissions: {}\njobs: {a: {steps: [{uses: actions/checkout@x}]}}", ["job a: uses actions/checkout but"]),
    ("permissions: {contents: read}\njobs: {deploy: {permissions: {id-token: write}, "
     "steps: [{uses: actions/checkout@x}]}}", ["job deploy: uses actions/checkout but"]),
])
def test_permission_problems(text, problems):
    found = permission_problems(wf_of("on: push\n" + text), {"deploy": ["deployments", "id-token"]})
    assert len(found) == len(problems) and all(f.startswith(p) for f, p in zip(found, problems, strict=True)), found


def test_needs_problems():
    chain = ["lint", "test", "deploy"]
    ok = wf_of("on: push\njobs: {lint: {}, test: {needs: lint}, deploy: {needs: [test]}}")
    assert needs_problems(ok, chain) == []
    through = wf_of("on: push\njobs: {lint: {}, x: {needs: lint}, test: {needs: x}, deploy: {needs: [x, test]}}")
    assert needs_problems(through, chain) == []
    bad = wf_of("on: push\njobs: {lint: {needs: deploy}, test: {needs: [nope]}, deploy: {needs: lint}}")
    assert needs_problems(bad, chain) == [
        "job test needs 'nope', which is not a job",
        "the jobs need each other in a circle: lint -> deploy -> lint",
        "test does not need lint (directly or through another job), so it can run before lint has passed",
        "deploy does not need test (directly or through another job), so it can run before test has passed",
    ]
    assert needs_problems(wf_of("on: push\njobs: {lint: {}}"), chain)[:2] == ["there is no job 'test'",
                                                                               "there is no job 'deploy'"]


def test_secret_exposures():
    wf = wf_of("""
on: push
env: {GLOBAL_KEY: "${{ secrets.GLOBAL }}"}
jobs:
  a:
    env: {JOB_TOKEN: "${{ secrets.JOB }}", PLAIN: hello}
    steps:
      - name: pasted
        run: curl -H "token ${{ secrets.X }}" https://example.com
      - name: echoed
        run: echo "token is $JOB_TOKEN"
      - name: braces
        run: printf '%s' "${GLOBAL_KEY}"
      - name: piped
        run: echo "$JOB_TOKEN" | docker login --password-stdin
      - name: redirected
        run: echo "$JOB_TOKEN" > token.txt
      - name: masked
        run: echo "::add-mask::$JOB_TOKEN"
      - name: used
        run: 'curl -H "Authorization: Bearer $JOB_TOKEN" https://example.com'
      - name: plain
        run: echo "$PLAIN $HOME"
      - name: dump
        run: printenv | sort
      - name: trace
        run: |
          set -x
          deploy --token "$STEP_TOKEN"
        env: {STEP_TOKEN: "${{ github.token }}"}
  b:
    steps:
      - run: env
      - run: echo ${{ toJSON(secrets) }} > /dev/null
""")
    assert secret_exposures(wf) == [
        "toJSON(secrets) dumps every secret",
        "job a, step 'pasted' pastes a secret into its script (map it through env: instead)",
        "job a, step 'echoed' prints a secret: echo \"token is $JOB_TOKEN\"",
        "job a, step 'braces' prints a secret: printf '%s' \"${GLOBAL_KEY}\"",
        "job a, step 'dump' prints its environment, secrets included: printenv | sort",
        "job a, step 'trace' prints its environment, secrets included: set -x",
        "job b, step 'run: env' prints its environment, secrets included: env",
        "job b, step 'run: echo ${{ toJSON(secrets) }} > /dev/null' pastes a secret into its script "
        "(map it through env: instead)",
    ]


def test_uncached_installs():
    wf = wf_of(f"""
on: push
jobs:
  setup_python:
    steps:
      - uses: actions/setup-python@{SHA}
        with: {{python-version: "3.11", cache: pip}}
      - run: pip install -r requirements.txt
  actions_cache:
    steps:
      - uses: actions/cache@{SHA}
        with: {{path: ~/.cache/pip, key: "pip-${{{{ hashFiles('requirements.txt') }}}}"}}
      - run: python -m pip install -r requirements.txt
  cache_without_hash:
    steps:
      - uses: actions/cache@{SHA}
        with: {{path: ~/.cache/pip, key: pip}}
      - run: pip install -r requirements.txt
  cache_too_late:
    steps:
      - run: |
          python -m pip install --upgrade pip
      - uses: actions/setup-python@{SHA}
        with: {{cache: pip}}
  no_install:
    steps:
      - run: python scripts/eval_gate.py
""")
    assert uncached_installs(wf) == [
        "job cache_without_hash runs 'pip install -r requirements.txt' with no cache restored before it",
        "job cache_too_late runs 'python -m pip install --upgrade pip' with no cache restored before it",
    ]
    assert uncached_installs(wf_of("on: push\njobs: {a: {steps: [{run: pytest}]}}")) == [
        "no job installs dependencies (pip install -r requirements.txt)"]


def test_summary_lists_a_few_problems():
    assert summary([]) == "none"
    assert summary(["a", "b", "a"]) == "a; b"
    assert summary([str(i) for i in range(8)]) == "0; 1; 2; 3; 4; and 3 more"


# -- simulation -----------------------------------------------------------------------------

PIPELINE = """
on:
  push:
    branches: [main, 'release/**', '!release/old']
    tags: ['v*']
  pull_request:
    branches: [main]
jobs:
  lint: {steps: [{run: ruff check .}]}
  test: {needs: lint, steps: [{run: pytest}]}
  gate:
    needs: test
    steps:
      - run: python scripts/eval_gate.py --max-drop 0.02
  scan:
    needs: gate
    steps:
      - name: scan
        run: python scripts/security_scan.py || true
  report:
    needs: [gate, scan]
    if: ${{ failure() }}
    steps: [{run: notify}]
  deploy:
    needs: [gate, scan]
    if: github.event_name == 'push' && github.ref == 'refs/heads/main' && !github.event.pull_request.head.repo.fork
    steps: [{run: deploy}]
"""


def run(text: str, **scenario) -> dict[str, str]:
    wf = wf_of(text)
    return simulate(wf, build_model(wf), Scenario(id="t", **scenario))


def test_a_green_push_to_main_runs_everything_but_the_failure_report():
    assert run(PIPELINE, event="push", ref="refs/heads/main") == {
        "lint": "success", "test": "success", "gate": "success", "scan": "success", "report": "skipped",
        "deploy": "success"}


@pytest.mark.parametrize("scenario, triggered", [
    ({"event": "push", "ref": "refs/heads/release/2.x"}, True),
    ({"event": "push", "ref": "refs/heads/release/old"}, False),  # a later !pattern excludes it again
    ({"event": "push", "ref": "refs/heads/feature/x"}, False),
    ({"event": "push", "ref": "refs/tags/v1.0"}, True),
    ({"event": "push", "ref": "refs/tags/nightly"}, False),
    ({"event": "pull_request", "ref": "refs/pull/1/merge", "base_ref": "main"}, True),
    ({"event": "pull_request", "ref": "refs/pull/1/merge", "base_ref": "dev"}, False),
    ({"event": "pull_request", "ref": "refs/pull/1/merge", "base_ref": "main", "action": "closed"}, False),
    ({"event": "workflow_dispatch", "ref": "refs/heads/main"}, False),
])
def test_trigger_filters(scenario, triggered):
    assert bool(run(PIPELINE, **scenario)) is triggered


def test_trigger_forms():
    jobs = "jobs: {a: {}}"
    assert run(f"on: push\n{jobs}", event="push", ref="refs/tags/v1")
    assert not run(f"on: [pull_request]\n{jobs}", event="push", ref="refs/heads/main")
    assert run(f"on: {{push: {{branches-ignore: ['dependabot/**']}}}}\n{jobs}", event="push", ref="refs/heads/main")
    assert not run(f"on: {{push: {{branches-ignore: ['dependabot/**']}}}}\n{jobs}", event="push",
                   ref="refs/heads/dependabot/pip/x")
    assert not run(f"on: {{push: {{tags: ['v*']}}}}\n{jobs}", event="push", ref="refs/heads/main")  # tags only
    assert run(f"on: {{push: {{branches: ['ma?in', 'rel+ease']}}}}\n{jobs}", event="push", ref="refs/heads/min")
    assert run(f"on: {{pull_request: {{types: [closed]}}}}\n{jobs}", event="pull_request", ref="r", action="closed")


def test_failures_propagate_through_needs():
    gate_fails = run(PIPELINE, event="push", ref="refs/heads/main", fail_steps=("scripts/eval_gate.py",))
    assert gate_fails == {"lint": "success", "test": "success", "gate": "failure", "scan": "skipped",
                          "report": "success", "deploy": "skipped"}
    # `|| true` swallows the scan's failure: deploy goes ahead (the learner's bug, modelled)
    scan_fails = run(PIPELINE, event="push", ref="refs/heads/main", fail_steps=("scripts/security_scan.py",))
    assert scan_fails["scan"] == "success" and scan_fails["deploy"] == "success"
    lint_fails = run(PIPELINE, event="push", ref="refs/heads/main", fail_jobs=("lint",))
    assert [lint_fails[j] for j in ("test", "report", "deploy")] == ["skipped", "success", "skipped"]


def test_fork_and_pull_request_scenarios():
    fork = run(PIPELINE, event="pull_request", ref="refs/pull/7/merge", base_ref="main", fork=True)
    assert fork["scan"] == "success" and fork["deploy"] == "skipped"
    github = Scenario(id="t", event="pull_request_target", ref="refs/heads/main", fork=True).github()
    assert github["event"]["pull_request"]["head"]["repo"]["fork"] is True
    assert (github["base_ref"], github["ref_name"], github["ref_type"]) == ("main", "main", "branch")
    assert Scenario(id="t", event="push", ref="refs/tags/v1").github()["ref_type"] == "tag"


def test_continue_on_error_and_step_conditions():
    text = """
on: push
jobs:
  gate:
    steps:
      - run: python scripts/eval_gate.py
        continue-on-error: ${{ github.ref != 'refs/heads/main' }}
  other:
    steps:
      - run: echo first
      - if: github.event_name == 'pull_request'
        run: python scripts/eval_gate.py
  job_level:
    continue-on-error: true
    steps: [{run: python scripts/eval_gate.py}]
  strict:
    steps:
      - run: python scripts/eval_gate.py || exit 1
"""
    main = run(text, event="push", ref="refs/heads/main", fail_steps=("scripts/eval_gate.py",))
    assert main == {"gate": "failure", "other": "success", "job_level": "success", "strict": "failure"}
    dev = run(text, event="push", ref="refs/heads/dev", fail_steps=("scripts/eval_gate.py",))
    assert dev["gate"] == "success"


def test_needs_context_and_always():
    text = """
on: push
jobs:
  a: {steps: [{run: python scripts/eval_gate.py}]}
  b:
    needs: a
    if: always() && needs.a.result == 'failure'
  c:
    needs: b
  d:
    needs: b
    if: ${{ !cancelled() }}
"""
    result = run(text, event="push", ref="refs/heads/main", fail_steps=("scripts/eval_gate.py",))
    # c: b succeeded but a (an ancestor) failed, so success() is false; d does not ask for success()
    assert result == {"a": "failure", "b": "success", "c": "skipped", "d": "success"}


@pytest.mark.parametrize("text, message", [
    ("on: push\njobs: {a: {needs: b}}", "job a needs 'b', which is not a job"),
    ("on: push\njobs: {a: {needs: b}, b: {needs: a}}", "circle: a -> b -> a"),
    ("on: push\njobs: {a: {if: 'github.ref =='}}", "job a: if: 'github.ref ==' does not parse"),
    ("on: push\njobs: {a: {steps: [{name: s, if: 'secrets.X'}]}}", "job a, step 's': if:"),
    ("on: push\njobs: {a: {continue-on-error: 'yes'}}", "continue-on-error 'yes'"),
])
def test_workflows_github_would_reject(text, message):
    with pytest.raises(WorkflowError, match=message.replace("(", r"\(")):
        build_model(wf_of(text))


def test_a_long_chain_of_jobs_is_modelled_without_recursion():
    jobs = "".join(f"  j{i}: {{needs: j{i - 1}}}\n" if i else "  j0: {}\n" for i in range(250))
    result = run("on: push\njobs:\n" + jobs, event="push", ref="refs/heads/main")
    assert len(result) == 250 and set(result.values()) == {"success"}
    cyclic = "on: push\njobs:\n" + jobs.replace("j0: {}", "j0: {needs: j249}")
    with pytest.raises(WorkflowError, match="circle"):
        build_model(wf_of(cyclic))
