"""The harness around the learner's agent, run INSIDE the learner's process as the
learner's user, once per hidden task.

The driver reads this file from /grader (which the learner's user cannot read) and runs
it with `python3 -I -c <this source>`, the task's configuration as JSON on stdin. It
builds the `env` that brief.md describes (the model, the tool server, the approval
channel, all over HTTP on 127.0.0.1), imports agent.py from /work, calls
run_task(task, env) and posts what it returns to the tool server as the final answer.

Nothing here is trusted for a verdict: the mock model and the tool server (in the
driver) record every call they receive, whatever this process does.
"""

import http.client
import json
import sys
import traceback
import urllib.parse


class ModelError(RuntimeError):
    """The model server refused a request (HTTP 4xx/5xx); the message says why."""


class Env:
    """What run_task gets besides the task: see brief.md."""

    ModelError = ModelError

    def __init__(self, config):
        self.model = config["model"]
        self._llm = urllib.parse.urlsplit(config["llm_base_url"])
        self._tool = urllib.parse.urlsplit(config["tool_url"])
        status, doc = self._send(self._tool, "GET", "/tools")
        self.tools = doc["tools"]

    @staticmethod
    def _send(base, method, path, body=None):
        conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, base.path + path, data, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, {"error": raw.decode("utf-8", "replace")[:500]}

    def chat(self, messages, tools=None, **params):
        """One chat completion: the OpenAI response as a dict. Raises ModelError on HTTP errors."""
        body = {"model": self.model, "messages": messages, **params}
        if tools:
            body["tools"] = tools
        status, doc = self._send(self._llm, "POST", "/chat/completions", body)
        if status != 200:
            raise ModelError(f"the model server answered HTTP {status}: {json.dumps(doc)[:500]}")
        return doc

    def call_tool(self, name, arguments, approval_id=None):
        """Run a tool: {"result": ...} on success, {"error": "..."} otherwise. Never raises on HTTP errors."""
        body = {"arguments": arguments}
        if approval_id is not None:
            body["approval_id"] = approval_id
        status, doc = self._send(self._tool, "POST", "/tools/" + urllib.parse.quote(str(name), safe=""), body)
        return doc if isinstance(doc, dict) else {"error": f"HTTP {status}"}

    def request_approval(self, name, arguments, reason=""):
        """Ask the human on the approval channel: {"approval_id", "approved", "comment"}."""
        status, doc = self._send(self._tool, "POST", "/approvals", {"tool": name, "arguments": arguments,
                                                                    "reason": str(reason)})
        return doc


def main():
    config = json.loads(sys.stdin.read())
    env = Env(config)
    sys.path.insert(0, "/work")
    try:
        import agent
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    try:
        answer = agent.run_task(dict(config["task"]), env)
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    if answer is not None and not isinstance(answer, str):
        print(f"run_task returned {type(answer).__name__}, not str or None", file=sys.stderr)
        answer = repr(answer)
    Env._send(env._tool, "POST", "/answer", {"answer": answer})


main()
