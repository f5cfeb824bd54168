"""Host inspector "workflow": a GitHub Actions workflow, read as data, checked and simulated.

The workflow file is parsed with yaml.safe_load on the host, after a size limit and a check
that anchors and aliases do not expand into a bomb; nothing in it is ever executed. Each
static observation is "none" or a short list of what is wrong:

  unpinned_actions     `uses:` not pinned to a full 40-hex commit SHA (local ./ and
                       docker://...@sha256: digests are pinned)
  permission_problems  no top-level permissions, write-all/read-all, a write scope other
                       than those option `write_scopes` grants a job, checkout without
                       contents: read
  needs_problems       option `chain` (job ids in order) not enforced through `needs`
  secret_exposures     ${{ secrets.* }} pasted into run:, a secret env var echoed/printed,
                       env/printenv/set -x with a secret in scope, toJSON(secrets)
  uncached_installs    a job that installs dependencies with no cache restored before it

Then it simulates the workflow's trigger filters and `needs`/`if` graph under the lab's
scenarios (option `scenarios`: a JSON file in checks/, host only) and reports, for each,
which of the named jobs would run, grouped by observation name (for `match` checks).

Expressions: a subset of GitHub's language, parsed by a recursive-descent parser and
interpreted here (never Python's eval):

  literals   null true false, numbers (JSON forms, 0x hex, leading -), 'strings' ('' = ')
  contexts   job if: github needs vars inputs; step if: also env steps job runner matrix
             strategy (empty). github: event_name ref ref_name ref_type base_ref head_ref
             repository sha event (event.pull_request.head.repo.fork ...);
             needs.<job>.result, needs.<job>.outputs.<name> (empty)
  operators  ( ) [ ] . ! < <= > >= == != && ||; precedence: . [] then ! then < <= > >=
             then == != then && then ||. && and || return an operand; strings compare
             ignoring case; different types compare as numbers (null 0, bools 1/0,
             strings parsed, '' 0, anything else NaN)
  functions  success() failure() always() cancelled() contains() startsWith() endsWith()
             format() toJSON() fromJSON(); names ignore case. An if: with no status
             function means success() && (...)
  ${{ }}     an if: is bare or one ${{ }}; text around ${{ }} makes a string, so
             `if: ${{ a }} && ${{ b }}` is always true, as on GitHub

Simulation: a job runs when its if: is true; for it, success() means every job it needs,
directly or through others, succeeded, and failure() that one of them failed. A scenario
fails the jobs in `fail_jobs` and the steps whose run: mentions one of `fail_steps`, unless
that line swallows the failure (`|| true`, anything after `||` but `exit 1`) or the step has
continue-on-error. Path filters are taken to match, a matrix is one job, the shell is not
interpreted. A workflow GitHub would reject (unknown needs, a cycle, an if: that does not
parse) is reported as such.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml

if TYPE_CHECKING:
    from ..labspec import LabSpec

MAX_BYTES = 64 * 1024  # the workflow file: real ones are a few KiB, and pure-Python PyYAML is slow
MAX_WEIGHT = 2_000_000  # nodes plus scalar characters, once every alias is expanded
MAX_YAML_DEPTH = 64
MAX_JOBS = 256  # GitHub's own limit for one workflow run
MAX_EXPR_CHARS, MAX_TOKENS, MAX_NESTING = 2_000, 400, 32
SHOWN = 5  # problems listed in an observation before "and N more"
STATIC = ("unpinned_actions", "permission_problems", "needs_problems", "secret_exposures", "uncached_installs")


class WorkflowError(ValueError):
    """The workflow cannot be read or modelled; str(exc) is shown to the learner."""


class ExpressionError(WorkflowError):
    pass


# -- loading ----------------------------------------------------------------------------------


def load_workflow(data: bytes) -> dict[str, Any]:
    """Parse a workflow as data, refusing bombs and shapes GitHub would reject."""
    if len(data) > MAX_BYTES:
        raise WorkflowError(f"the workflow file is over {MAX_BYTES} bytes")
    try:
        loader = yaml.SafeLoader(data.decode("utf-8"))  # the pure-Python loader: no C stack to overflow
        try:
            node = loader.get_single_node()
            if node is None:
                raise WorkflowError("the workflow file is empty")
            _expanded_size(node, 0, {}, set())  # before anything is built from it
            doc = loader.construct_document(node)
        finally:
            loader.dispose()
    except UnicodeDecodeError:
        raise WorkflowError("the workflow file is not UTF-8 text") from None
    except RecursionError:
        raise WorkflowError(f"the workflow is nested more than {MAX_YAML_DEPTH} levels deep") from None
    except yaml.YAMLError as exc:
        hint = " (an if: that starts with ! must be quoted or written ${{ !... }}: YAML reads ! as a tag)" \
            if " tag" in str(exc) else ""
        raise WorkflowError(f"the workflow is not valid YAML: {' '.join(str(exc).split())[:300]}{hint}") from None
    if not isinstance(doc, dict):
        kind = "a list" if isinstance(doc, list) else "a string" if isinstance(doc, str) else type(doc).__name__
        raise WorkflowError(f"the workflow must be a YAML mapping (name:, on:, jobs:), not {kind}")
    if any(key is True for key in doc):  # YAML 1.1 reads the key `on` as the boolean true
        doc["on"] = doc.pop(True)
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise WorkflowError("the workflow has no jobs: mapping")
    if len(jobs) > MAX_JOBS:
        raise WorkflowError(f"the workflow has {len(jobs)} jobs; GitHub allows {MAX_JOBS}")
    bad = [str(k) for k, v in jobs.items() if not isinstance(k, str) or not isinstance(v, dict)]
    if bad:
        raise WorkflowError(f"job {bad[0]!r} is not a mapping of settings (runs-on:, steps:, ...)")
    if "on" not in doc:
        raise WorkflowError("the workflow has no on: (the events that trigger it)")
    return doc


def _expanded_size(node: yaml.Node, depth: int, memo: dict[int, int], active: set[int]) -> int:
    """Nodes plus scalar characters once every alias is expanded; refuses bombs and cycles."""
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in active:
        raise WorkflowError("a YAML alias refers to a node that contains it (a recursive structure)")
    if depth > MAX_YAML_DEPTH:
        raise WorkflowError(f"the workflow is nested more than {MAX_YAML_DEPTH} levels deep")
    active.add(id(node))
    children = node.value if isinstance(node, yaml.SequenceNode) else \
        [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else []
    total = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
    for child in children:
        total += _expanded_size(child, depth + 1, memo, active)
        if total > MAX_WEIGHT:
            raise WorkflowError(f"the workflow expands to more than {MAX_WEIGHT} characters once its anchors and "
                                "aliases are expanded (aliases that repeat each other: a 'billion laughs' bomb?)")
    active.discard(id(node))
    memo[id(node)] = total
    return total


# -- expressions ------------------------------------------------------------------------------

_NUMBER = r"-?(?:0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_TOKEN = re.compile(rf"(?P<num>{_NUMBER})|(?P<str>'(?:[^']|'')*')|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*)"
                    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,])")
_MISTAKES = {'"': "strings take single quotes ('main'), not double quotes", "=": "'=' is not an operator: use '=='",
             "&": "'&' is not an operator: use '&&'", "|": "'|' is not an operator: use '||'",
             "'": "a string that is never closed"}
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
FUNCTIONS = {**{name: (0, 0) for name in STATUS_FUNCTIONS}, "contains": (2, 2), "startswith": (2, 2),
             "endswith": (2, 2), "format": (1, 20), "tojson": (1, 1), "fromjson": (1, 1)}
JOB_CONTEXTS = ("github", "needs", "vars", "inputs")
STEP_CONTEXTS = (*JOB_CONTEXTS, "env", "steps", "job", "runner", "matrix", "strategy")

# ("lit", v) ("ctx", name) ("get", obj, key) ("not", n) ("and"|"or", [n..]) ("cmp", op, a, b)
# ("call", name, [args]) ("template", [n..])
Node = tuple[Any, ...]
Token = tuple[str, Any, int, str]  # kind (num, str, ident, op), value, column, source text


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_EXPR_CHARS:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_EXPR_CHARS}")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"{_MISTAKES.get(text[pos], f'unexpected character {text[pos]!r}')} "
                                  f"(column {pos + 1})")
        kind, raw = m.lastgroup or "op", m.group()
        value = to_number(raw) if kind == "num" else raw[1:-1].replace("''", "'") if kind == "str" else raw
        tokens.append((kind, value, pos + 1, raw))
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"the expression has more than {MAX_TOKENS} tokens")
        pos = m.end()
    return tokens


class _Parser:
    """or := and ('||' and)*   and := eq ('&&' eq)*   eq := cmp (('=='|'!=') cmp)*
    cmp := unary (('<'|'<='|'>'|'>=') unary)*   unary := '!' unary | postfix
    postfix := primary ('.' ident | '[' or ']')*   primary := literal | '(' or ')' | ident ['(' args ')']"""

    def __init__(self, text: str, contexts: tuple[str, ...]) -> None:
        self.tokens, self.i, self.depth, self.contexts = tokenize(text), 0, 0, contexts

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        node = self.or_()
        if self.i < len(self.tokens):
            self.fail("unexpected")
        return node

    def take(self, *ops: str) -> str | None:
        tok = self.tokens[self.i] if self.i < len(self.tokens) else None
        if tok and tok[0] == "op" and tok[1] in ops:
            self.i += 1
            return str(tok[1])
        return None

    def fail(self, what: str) -> NoReturn:
        if self.i >= len(self.tokens):
            raise ExpressionError(f"the expression ends too early ({what} its end)")
        raise ExpressionError(f"{what} {self.tokens[self.i][3]} (column {self.tokens[self.i][2]})")

    def nested(self, sub: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"the expression is nested more than {MAX_NESTING} levels deep")
        node = sub()
        self.depth -= 1
        return node

    def or_(self) -> Node:
        return self.chain("||", "or", self.and_)

    def and_(self) -> Node:
        return self.chain("&&", "and", self.eq)

    def chain(self, op: str, name: str, sub: Callable[[], Node]) -> Node:
        parts = [sub()]
        while self.take(op):
            parts.append(sub())
        return parts[0] if len(parts) == 1 else (name, parts)  # flat: long chains cost no recursion

    def eq(self) -> Node:
        node = self.cmp()
        while op := self.take("==", "!="):
            node = ("cmp", op, node, self.cmp())
        return node

    def cmp(self) -> Node:
        node = self.unary()
        while op := self.take("<", "<=", ">", ">="):
            node = ("cmp", op, node, self.unary())
        return node

    def unary(self) -> Node:
        return ("not", self.nested(self.unary)) if self.take("!") else self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while op := self.take(".", "["):
            if op == "[":
                node = ("get", node, self.nested(self.or_))
                if not self.take("]"):
                    self.fail("expected ']', got")
            elif self.i < len(self.tokens) and self.tokens[self.i][0] == "ident":
                node = ("get", node, ("lit", self.tokens[self.i][1]))
                self.i += 1
            else:
                self.fail("expected a property name after '.', got")
        return node

    def primary(self) -> Node:
        if self.i >= len(self.tokens):
            self.fail("expected a value before")
        kind, value, col, _ = self.tokens[self.i]
        if self.take("("):
            node = self.nested(self.or_)
            if not self.take(")"):
                self.fail("expected ')', got")
            return node
        if kind not in ("num", "str", "ident"):
            self.fail("expected a value, got")
        self.i += 1
        if kind != "ident":
            return ("lit", value)
        if value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if self.take("("):
            return self.call(value, col)
        if value.lower() not in self.contexts:
            raise ExpressionError(f"Unrecognized named-value: '{value}' (column {col}); here an if: may use "
                                  f"{', '.join(self.contexts)}")
        return ("ctx", value.lower())

    def call(self, name: str, col: int) -> Node:
        if name.lower() not in FUNCTIONS:
            raise ExpressionError(f"function '{name}' (column {col}) is not in the subset this grader models: success, "
                                  "failure, always, cancelled, contains, startsWith, endsWith, format, toJSON, fromJSON")
        args: list[Node] = []
        while not self.take(")"):
            if args and not self.take(","):
                self.fail(f"expected ',' or ')' in the call to {name}, got")
            args.append(self.nested(self.or_))
        lo, hi = FUNCTIONS[name.lower()]
        if not lo <= len(args) <= hi:
            raise ExpressionError(f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} argument(s), "
                                  f"got {len(args)} (column {col})")
        return ("call", name.lower(), args)


def split_template(text: str) -> list[tuple[bool, str]]:
    """'a ${{ x }} b' -> [(False, 'a '), (True, ' x '), (False, ' b')]; a }} in a string is no end."""
    parts: list[tuple[bool, str]] = []
    i = 0
    while (j := text.find("${{", i)) >= 0:
        parts.append((False, text[i:j]))
        k, quoted = j + 3, False
        while k < len(text) and (quoted or not text.startswith("}}", k)):
            quoted ^= text[k] == "'"
            k += 1
        if k >= len(text):
            raise ExpressionError(f"'${{{{' at column {j + 1} has no closing '}}}}'")
        parts.append((True, text[j + 3:k]))
        i = k + 2
    parts.append((False, text[i:]))
    return [p for p in parts if p[0] or p[1]]


def parse_expression(text: str, contexts: tuple[str, ...] = STEP_CONTEXTS) -> Node:
    return _Parser(text, contexts).parse()


def compile_condition(value: Any, contexts: tuple[str, ...] = JOB_CONTEXTS) -> Node:
    """An if: as GitHub reads it, with the implicit success() where no status function is used."""
    if value is None:
        return ("call", "success", [])
    if isinstance(value, bool | int | float):
        node: Node = ("lit", value)
    elif isinstance(value, str):
        parts = split_template(value.strip())
        if len(parts) == 1 and parts[0][0]:
            node = parse_expression(parts[0][1], contexts)
        elif any(is_expr for is_expr, _ in parts):
            node = ("template", [parse_expression(t, contexts) if e else ("lit", t) for e, t in parts])
        else:
            node = parse_expression(value, contexts)
    else:
        raise ExpressionError(f"an if: must be a string or a literal, not a {type(value).__name__}")
    return node if _uses_status(node) else ("and", [("call", "success", []), node])


def _uses_status(node: Any) -> bool:
    if isinstance(node, tuple) and node[0] == "call" and node[1] in STATUS_FUNCTIONS:
        return True
    return isinstance(node, tuple | list) and any(_uses_status(part) for part in node)


def to_number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return float(bool(value))
    if isinstance(value, int | float):
        return float(value)
    text = value.strip() if isinstance(value, str) else "x"
    if not text:
        return 0.0
    if re.fullmatch(_NUMBER, text):
        number = float(int(text, 16)) if text.lstrip("-")[:2].lower() == "0x" else float(text)
        return number if math.isfinite(number) else math.nan
    return math.nan


def to_string(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value if isinstance(value, str) else "Array" if isinstance(value, list) else "Object"


def truthy(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return value not in (None, False, "")


def _kind(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def loose_equal(a: Any, b: Any) -> bool:
    if _kind(a) != _kind(b):
        return to_number(a) == to_number(b)
    if isinstance(a, str):
        return bool(a.upper() == b.upper())
    return a is b if isinstance(a, list | dict) else bool(a == b)


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass
class Context:
    values: dict[str, Any]
    status: dict[str, bool]  # success, failure, cancelled (always() is true)


def evaluate(node: Node, ctx: Context) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "ctx":
        return ctx.values.get(node[1])
    if kind == "get":
        obj, key = evaluate(node[1], ctx), evaluate(node[2], ctx)
        if isinstance(obj, dict) and isinstance(key, str):
            return next((v for k, v in obj.items() if str(k).upper() == key.upper()), None)
        if isinstance(obj, list) and _kind(key) == "number" and float(key).is_integer() and 0 <= key < len(obj):
            return obj[int(key)]
        return None
    if kind == "not":
        return not truthy(evaluate(node[1], ctx))
    if kind in ("and", "or"):
        for part in node[1]:
            value = evaluate(part, ctx)
            if truthy(value) == (kind == "or"):
                break
        return value
    if kind == "cmp":
        op, a, b = node[1], evaluate(node[2], ctx), evaluate(node[3], ctx)
        if op in ("==", "!="):
            return loose_equal(a, b) == (op == "==")
        if isinstance(a, str) and isinstance(b, str):
            return bool(_ORDER[op](a.upper(), b.upper()))
        x, y = to_number(a), to_number(b)
        return not (math.isnan(x) or math.isnan(y)) and bool(_ORDER[op](x, y))
    if kind == "template":
        return "".join(to_string(evaluate(part, ctx)) for part in node[1])
    return _call(node[1], [evaluate(arg, ctx) for arg in node[2]], ctx)


def _call(name: str, args: list[Any], ctx: Context) -> Any:
    if name in STATUS_FUNCTIONS:
        return ctx.status.get(name, name == "always")
    if name == "contains":
        if isinstance(args[0], list):
            return any(loose_equal(item, args[1]) for item in args[0])
        return to_string(args[1]).upper() in to_string(args[0]).upper()
    if name in ("startswith", "endswith"):
        text, affix = to_string(args[0]).upper(), to_string(args[1]).upper()
        return text.startswith(affix) if name == "startswith" else text.endswith(affix)
    if name == "tojson":
        return json.dumps(args[0], indent=2, sort_keys=True, default=str)
    if name == "fromjson":
        try:
            return json.loads(to_string(args[0])[:10_000], parse_int=float)
        except ValueError:
            raise ExpressionError(f"fromJSON() was given text that is not JSON: {to_string(args[0])[:60]!r}") from None

    def fill(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group()[0]  # {{ or }}
        if int(m.group(1)) + 1 >= len(args):
            raise ExpressionError(f"format() has no argument {{{m.group(1)}}}")
        return to_string(args[int(m.group(1)) + 1])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", fill, to_string(args[0]))


# -- the workflow as a model ------------------------------------------------------------------


def steps_of(job: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    steps = job.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict):
            yield i, step


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(dict.fromkeys(map(str, needs))) if isinstance(needs, list) else []


def step_label(jid: str, i: int, step: dict[str, Any]) -> str:
    name = step.get("name") or step.get("id") or step.get("uses")
    if not name:
        name = "run: " + (str(step.get("run", "")).strip().splitlines() or [f"step {i + 1}"])[0]
    return f"job {jid}, step '{str(name)[:60]}'"


def ancestors(graph: dict[str, list[str]], jid: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(jid, []))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(graph.get(n, []))
    return seen


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One circle of needs, if any (iterative: a hostile chain of jobs must not exhaust the stack)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if start in state:
            continue
        path, iters = [start], [iter(graph[start])]
        state[start] = 1
        while path:
            nxt = next((n for n in iters[-1] if n in graph), None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph[nxt]))
    return None


@dataclass
class Step:
    run: str
    uses: str
    cond: Node
    continue_on_error: Node


@dataclass
class Job:
    needs: list[str]
    cond: Node
    continue_on_error: Node
    steps: list[Step] = field(default_factory=list)
    ancestors: set[str] = field(default_factory=set)  # every job it needs, directly or through others


def build_model(wf: dict[str, Any]) -> dict[str, Job]:
    """Jobs in an order that respects needs, every if: parsed; WorkflowError where GitHub itself
    would reject the workflow (unknown needs, a cycle, an if: that does not parse)."""
    jobs: dict[str, dict[str, Any]] = wf["jobs"]
    graph = {jid: needs_of(job) for jid, job in jobs.items()}
    for jid, needs in graph.items():
        for n in needs:
            if n not in jobs:
                raise WorkflowError(f"job {jid} needs '{n}', which is not a job in this workflow")
    if cycle := find_cycle(graph):
        raise WorkflowError(f"the jobs need each other in a circle: {' -> '.join(cycle)}")
    model: dict[str, Job] = {}
    for jid, job in jobs.items():
        model[jid] = Job(graph[jid], _condition(job.get("if"), f"job {jid}", JOB_CONTEXTS),
                         _flag(job.get("continue-on-error"), f"job {jid}"))
        for i, step in steps_of(job):
            where = step_label(jid, i, step)
            model[jid].steps.append(Step(str(step.get("run", "")), str(step.get("uses", "")),
                                         _condition(step.get("if"), where, STEP_CONTEXTS),
                                         _flag(step.get("continue-on-error"), where)))
    order: dict[str, Job] = {}
    while len(order) < len(model):  # topological, stable in the file's order; no cycle, so one is ready
        jid = next(j for j in model if j not in order and all(n in order for n in graph[j]))
        model[jid].ancestors = set().union(*({n} | order[n].ancestors for n in graph[jid]))
        order[jid] = model[jid]
    return order


def _condition(value: Any, where: str, contexts: tuple[str, ...]) -> Node:
    try:
        return compile_condition(value, contexts)
    except ExpressionError as exc:
        raise ExpressionError(f"{where}: if: {str(value)[:120]!r} does not parse: {exc}") from None


def _flag(value: Any, where: str) -> Node:
    if value is None or isinstance(value, bool | int | float):
        return ("lit", value)
    try:
        parts = split_template(value.strip()) if isinstance(value, str) else []
        if len(parts) != 1 or not parts[0][0]:
            raise ExpressionError("it must be true, false or one ${{ }} expression")
        return parse_expression(parts[0][1])
    except ExpressionError as exc:
        raise ExpressionError(f"{where}: continue-on-error {str(value)[:80]!r}: {exc}") from None


# -- simulation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    id: str
    event: str
    ref: str
    observe: str = "scenarios"
    base_ref: str = "main"
    head_ref: str = "feature"
    fork: bool = False
    action: str = "opened"
    fail_steps: tuple[str, ...] = ()
    fail_jobs: tuple[str, ...] = ()
    cancelled: bool = False
    report: tuple[str, ...] = ()
    repository: str = "skillforge/ci-lab"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        extra = sorted(set(data) - set(cls.__dataclass_fields__))
        if extra:
            raise ValueError(f"scenario {data.get('id')!r}: unknown key {extra[0]!r}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})  # type: ignore[arg-type]

    def github(self) -> dict[str, Any]:
        pr = self.event.startswith("pull_request")
        head_repo = f"contributor/{self.repository.split('/')[-1]}" if self.fork else self.repository
        event: dict[str, Any] = {"ref": self.ref, "repository": {"full_name": self.repository}}
        if pr:
            event = {"action": self.action, "number": 42, "pull_request": {
                "number": 42, "head": {"ref": self.head_ref, "repo": {"fork": self.fork, "full_name": head_repo}},
                "base": {"ref": self.base_ref, "repo": {"fork": False, "full_name": self.repository}}}}
        short = self.ref.split("/", 2)[2] if self.ref.startswith(("refs/heads/", "refs/tags/", "refs/pull/")) \
            else self.ref
        return {"event_name": self.event, "ref": self.ref, "ref_name": short,
                "ref_type": "tag" if self.ref.startswith("refs/tags/") else "branch",
                "base_ref": self.base_ref if pr else "", "head_ref": self.head_ref if pr else "",
                "repository": self.repository, "repository_owner": self.repository.split("/")[0],
                "actor": "octocat", "sha": "0" * 40, "event": event}


def _glob(pattern: str, name: str) -> bool:
    """GitHub's filter patterns: * (not /), ** (anything), ? and + after a character, [..]."""
    pattern = re.sub(r"\*{3,}", "**", pattern)
    if len(pattern) > 200 or pattern.count("*") > 12:  # bounds the regex's backtracking
        return False
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] in "?+":
            out, i = out + pattern[i], i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            out, i = out + pattern[i:j + 1], j + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    try:
        return re.fullmatch(out, name) is not None
    except re.error:
        return False


def _passes(cfg: dict[str, Any], key: str, name: str) -> bool:
    """Does `name` pass cfg's `key` and `key-ignore` filters (a later !pattern excludes again)?"""
    include, ignore = ([v] if isinstance(v, str) else v for v in (cfg.get(key), cfg.get(f"{key}-ignore")))
    if isinstance(include, list):
        matched = False
        for pattern in map(str, include[:500]):
            if pattern.startswith("!"):
                matched = matched and not _glob(pattern[1:], name)
            else:
                matched = matched or _glob(pattern, name)
        if not matched:
            return False
    return not (isinstance(ignore, list) and any(_glob(str(p), name) for p in ignore[:500]))


def triggered(on: Any, s: Scenario) -> bool:
    events: dict[Any, Any] = {on: None} if isinstance(on, str) else \
        {str(e): None for e in on} if isinstance(on, list) else on if isinstance(on, dict) else {}
    if s.event not in events:
        return False
    cfg: dict[str, Any] = events[s.event] if isinstance(events[s.event], dict) else {}
    if s.event == "push":
        branches = "branches" in cfg or "branches-ignore" in cfg
        tags = "tags" in cfg or "tags-ignore" in cfg
        if s.ref.startswith("refs/tags/"):
            return not branches if not tags else _passes(cfg, "tags", s.ref[len("refs/tags/"):])
        return not tags if not branches else _passes(cfg, "branches", s.ref.removeprefix("refs/heads/"))
    if s.event in ("pull_request", "pull_request_target"):
        types = cfg.get("types", ["opened", "synchronize", "reopened"])
        return s.action in ([types] if isinstance(types, str) else types if isinstance(types, list) else []) \
            and _passes(cfg, "branches", s.base_ref)
    return True


def _step_fails(step: Step, markers: tuple[str, ...]) -> bool:
    """Does the step run a failing command, and not swallow it with `|| true` on that line?"""
    if any(m and step.uses.startswith(m) for m in markers):
        return True
    for line in step.run.replace("\\\n", " ").splitlines():
        for marker in filter(None, markers):
            at = line.find(marker)
            if at >= 0:
                _, bar, rest = line[at:].partition("||")
                if not bar or re.match(r"\s*(?:exit|return)\s+[1-9]|\s*false\b", rest):
                    return True
    return False


def simulate(wf: dict[str, Any], model: dict[str, Job], s: Scenario) -> dict[str, str]:
    """Each job's result under the scenario: success, failure or skipped; {} if not triggered."""
    if not triggered(wf.get("on"), s):
        return {}
    github = s.github()
    results: dict[str, str] = {}
    for jid, job in model.items():
        prior = [results[a] for a in job.ancestors]
        values = {"github": github, "vars": {}, "inputs": {},
                  "needs": {n: {"result": results[n], "outputs": {}} for n in job.needs}}
        status = {"success": all(r == "success" for r in prior) and not s.cancelled,
                  "failure": "failure" in prior, "cancelled": s.cancelled}
        if not truthy(evaluate(job.cond, Context(values, status))):
            results[jid] = "skipped"
            continue
        failed = jid in s.fail_jobs
        values.update({"env": {}, "steps": {}, "job": {}, "runner": {}, "matrix": {}, "strategy": {}})
        for step in job.steps:
            ctx = Context(values, {"success": not failed and not s.cancelled, "failure": failed,
                                   "cancelled": s.cancelled})
            if truthy(evaluate(step.cond, ctx)) and _step_fails(step, s.fail_steps) \
                    and not truthy(evaluate(step.continue_on_error, ctx)):
                failed = True
        if failed and truthy(evaluate(job.continue_on_error, Context(values, status))):
            failed = False
        results[jid] = "failure" if failed else "success"
    return results


# -- static checks ----------------------------------------------------------------------------

_PINNED = re.compile(r"\./.*|[\w.-]+/[\w./-]+@[0-9a-fA-F]{40}|docker://[^@\s]+@sha256:[0-9a-f]{64}", re.S)


def unpinned_actions(wf: dict[str, Any]) -> list[str]:
    where: dict[str, list[str]] = {}
    for jid, job in wf["jobs"].items():
        for uses in [job.get("uses")] + [step.get("uses") for _, step in steps_of(job)]:
            if uses is not None and not (isinstance(uses, str) and _PINNED.fullmatch(uses)):
                short = " (a short SHA is not immutable)" if re.search(r"@[0-9a-f]{7,39}$", str(uses)) else ""
                where.setdefault(f"{str(uses)[:80]}{short}", []).append(jid)
    return [f"{uses} (job{'s' * (len(jobs) > 1)} {', '.join(dict.fromkeys(jobs))})" for uses, jobs in where.items()]


SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "models", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses")


def _grant_problems(where: str, value: Any, may_write: list[str]) -> list[str]:
    if value in ("write-all", "read-all"):
        return [f"{where}: {value} grants every scope{' write access' * (value == 'write-all')}; "
                "name only the scopes it needs (contents: read)"]
    if not isinstance(value, dict):
        return [f"{where}: permissions must map scopes to read, write or none, not {str(value)[:40]!r}"]
    problems = []
    for scope, level in value.items():
        if scope not in SCOPES or level not in ("read", "write", "none"):
            problems.append(f"{where}: {scope}: {level} is not a valid permission")
        elif level == "write" and scope not in may_write:
            problems.append(f"{where}: {scope}: write is more than it needs")
    return problems


def permission_problems(wf: dict[str, Any], write_scopes: dict[str, list[str]]) -> list[str]:
    """Top-level permissions read-only; a job may write only the scopes the lab grants it."""
    top = wf.get("permissions", "(missing)")
    problems = ["workflow: no top-level permissions, so the token gets the repository default (often write on "
                "everything)"] if top == "(missing)" else _grant_problems("workflow", top, [])
    for jid, job in wf["jobs"].items():
        if "permissions" in job:
            problems += _grant_problems(f"job {jid}", job["permissions"], list(write_scopes.get(jid, [])))
        granted = job.get("permissions", top)
        checkout = any(str(step.get("uses", "")).startswith("actions/checkout@") for _, step in steps_of(job))
        if checkout and isinstance(granted, dict) and granted.get("contents") not in ("read", "write"):
            problems.append(f"job {jid}: uses actions/checkout but gets no contents: read")
    return problems


def needs_problems(wf: dict[str, Any], chain: list[str]) -> list[str]:
    """Each job of the chain must need the one before it, directly or through another job."""
    graph = {jid: needs_of(job) for jid, job in wf["jobs"].items()}
    problems = [f"job {jid} needs '{n}', which is not a job" for jid, ns in graph.items() for n in ns if n not in graph]
    if cycle := find_cycle(graph):
        problems.append(f"the jobs need each other in a circle: {' -> '.join(cycle)}")
    problems += [f"there is no job '{jid}'" for jid in chain if jid not in graph]
    for before, after in zip(chain, chain[1:], strict=False):
        if before in graph and after in graph and before not in ancestors(graph, after):
            problems.append(f"{after} does not need {before} (directly or through another job), so it can run "
                            f"before {before} has passed")
    return problems


_SECRET_REF = re.compile(r"\$\{\{[^}]{0,200}?\b(?:secrets\b|github\.token\b)", re.I)
_PRINTS = re.compile(r"(?:^|[;&|(]|\s)(?:echo|printf|print)\b")
_DUMPS_ENV = re.compile(r"\s*(?:printenv\b|env\s*(?:$|\|)|set\s+-[a-z]*x)")


def secret_exposures(wf: dict[str, Any]) -> list[str]:
    """Secrets pasted into run: scripts, or printed to the log from the environment."""
    problems = ["toJSON(secrets) dumps every secret"] \
        if re.search(r"toJSON\(\s*secrets\s*\)", json.dumps(wf, default=str), re.I) else []

    def secret_env(block: Any) -> set[str]:
        env = block.get("env") if isinstance(block, dict) else None
        return {str(k) for k, v in env.items() if _SECRET_REF.search(str(v))} if isinstance(env, dict) else set()

    for jid, job in wf["jobs"].items():
        for i, step in steps_of(job):
            run, where = step.get("run"), step_label(jid, i, step)
            if not isinstance(run, str):
                continue
            if _SECRET_REF.search(run):
                problems.append(f"{where} pastes a secret into its script (map it through env: instead)")
            names = secret_env(wf) | secret_env(job) | secret_env(step)
            if not names:
                continue
            var = re.compile(r"\$\{?(?:" + "|".join(map(re.escape, sorted(names))) + r")\b")
            for line in run.splitlines():
                shown = _PRINTS.search(line)
                m = var.search(line, shown.end()) if shown else None
                if m and not re.search(r"[|>]", line[m.end():]) and "::add-mask::" not in line:
                    problems.append(f"{where} prints a secret: {line.strip()[:60]}")
                elif _DUMPS_ENV.match(line):
                    problems.append(f"{where} prints its environment, secrets included: {line.strip()[:40]}")
    return problems


_INSTALL = re.compile(r"\b(?:pip3?|uv\s+pip|poetry|pipenv|npm|yarn|pnpm)\s+(?:install|ci|sync)\b"
                      r"|\bpython3?\s+-m\s+pip\s+install\b")


def _restores_cache(step: dict[str, Any]) -> bool:
    uses, with_ = str(step.get("uses", "")), step.get("with")
    with_ = with_ if isinstance(with_, dict) else {}
    if re.match(r"actions/setup-(?:python|node)@", uses):
        return bool(with_.get("cache"))
    if re.match(r"actions/cache(?:/restore)?@", uses):
        return "hashFiles(" in str(with_.get("key", "")) and bool(with_.get("path"))
    return uses.startswith("astral-sh/setup-uv@") and str(with_.get("enable-cache", "")).lower() == "true"


def uncached_installs(wf: dict[str, Any]) -> list[str]:
    """Jobs that install dependencies without restoring a dependency cache first."""
    problems, installs = [], 0
    for jid, job in wf["jobs"].items():
        cached = False
        for _, step in steps_of(job):
            cached = cached or _restores_cache(step)
            line = next((x for x in str(step.get("run", "")).splitlines() if _INSTALL.search(x)), None)
            if line is not None:
                installs += 1
                if not cached:
                    problems.append(f"job {jid} runs '{line.strip()[:60]}' with no cache restored before it")
                    break
    return problems if installs else ["no job installs dependencies (pip install -r requirements.txt)"]


def summary(problems: list[str]) -> str:
    """The observation: 'none', or the problems (the first few, then how many more)."""
    unique = list(dict.fromkeys(problems))
    more = f"; and {len(unique) - SHOWN} more" if len(unique) > SHOWN else ""
    return "; ".join(unique[:SHOWN]) + more if unique else "none"


# -- the inspector ----------------------------------------------------------------------------


def load_scenarios(path: Path) -> list[Scenario]:
    return [Scenario.from_dict(s) for s in json.loads(path.read_text(encoding="utf-8"))["scenarios"]]


def run_scenarios(wf: dict[str, Any], scenarios: list[Scenario], chain: list[str]) -> dict[str, list[list[str]]]:
    """observe name -> for each of its scenarios (in file order), the reported jobs that ran."""
    model = build_model(wf)
    out: dict[str, list[list[str]]] = {}
    for s in scenarios:
        results = simulate(wf, model, s)
        out.setdefault(s.observe, []).append([j for j in (s.report or chain) if results.get(j) in ("success", "failure")])
    return out


def inspect(submission: Path, lab: LabSpec) -> dict[str, Any]:
    """The inspector: observations from the submission's workflow, read as data."""
    from . import Unavailable

    opts = lab.inspector_options
    chain = [str(j) for j in opts.get("chain", [])]
    scenarios = load_scenarios(lab.root / "checks" / opts["scenarios"]) if opts.get("scenarios") else []
    observed = list(dict.fromkeys([*STATIC, *(s.observe for s in scenarios)]))
    rel = str(opts.get("workflow", ".github/workflows/ci.yml"))
    path = submission / rel
    try:
        if path.is_symlink() or not path.is_file():
            raise WorkflowError(f"there is no {rel} in your submission")
        with path.open("rb") as fh:
            wf = load_workflow(fh.read(MAX_BYTES + 1))
    except WorkflowError as exc:
        return {name: Unavailable(f"Your workflow could not be read: {exc}.") for name in observed}
    obs: dict[str, Any] = {
        "unpinned_actions": summary(unpinned_actions(wf)),
        "permission_problems": summary(permission_problems(wf, opts.get("write_scopes", {}))),
        "needs_problems": summary(needs_problems(wf, chain)),
        "secret_exposures": summary(secret_exposures(wf)),
        "uncached_installs": summary(uncached_installs(wf)),
    }
    try:
        obs.update(run_scenarios(wf, scenarios, chain))
    except WorkflowError as exc:  # ExpressionError included
        obs.update({s.observe: Unavailable(f"Your workflow could not be simulated (GitHub would reject it too): "
                                           f"{exc}.") for s in scenarios})
    return obs
