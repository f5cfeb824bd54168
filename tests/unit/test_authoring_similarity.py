"""Similarity by winnowing: a copy with renamed variables, new comments and new layout is
flagged; an independent solution to the same task is not; the instructor's page shows the
pair side by side with the shared lines marked, and learners cannot see any of it."""

from __future__ import annotations

from django.test import Client
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
)

from accounts.services import create_account
from authoring import similarity
from catalog.models import Lab
from submissions import services

ORIGINAL = '''
import heapq


def top_k(scores, k):
    """The k best (score, id) pairs, best first."""
    heap = []
    for doc_id, score in scores.items():
        if len(heap) < k:
            heapq.heappush(heap, (score, doc_id))
        elif score > heap[0][0]:
            heapq.heapreplace(heap, (score, doc_id))
    result = sorted(heap, reverse=True)
    return [(doc_id, score) for score, doc_id in result]


def normalise(vector):
    total = sum(x * x for x in vector) ** 0.5
    if total == 0:
        return vector
    return [x / total for x in vector]
'''

RENAMED = '''
import heapq

# my own work, honest
def best_of(points, n):
    h = []
    for key, value in points.items():
        if len(h) < n:
            heapq.heappush(h, (value, key))   # keep n
        elif value > h[0][0]:
            heapq.heapreplace(h, (value, key))
    out = sorted(h, reverse=True)
    return [(key, value) for value, key in out]


def unit(v):
    norm = sum(a * a for a in v) ** 0.5
    if norm == 0:
        return v
    return [a / norm for a in v]
'''

INDEPENDENT = '''
import math


def top_k(scores, k):
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    chosen = ranked[:k]
    return list(chosen)


def normalise(vector):
    length = math.sqrt(sum(map(lambda x: x ** 2, vector)))
    return vector if not length else [value / length for value in vector]
'''


def test_normalising_drops_names_literals_and_comments():
    a = [t.text for t in similarity.normalise("total = 1  # one\nprint(total + 'x')\n")]
    b = [t.text for t in similarity.normalise("count=2\n\n\nshow(count+\"y\")")]
    assert a == b == ["V", "=", "N", ";", "V", "(", "V", "+", "S", ")", ";"]
    similarity.normalise("def f(:\n  \"\"\"unterminated")  # broken code never raises


def test_a_renamed_copy_is_flagged_and_an_independent_solution_is_not():
    docs = [similarity.document(name, name, {"main.py": text})
            for name, text in (("original", ORIGINAL), ("renamed", RENAMED), ("independent", INDEPENDENT))]
    pairs = similarity.flag(docs)
    assert [(p.a.key, p.b.key) for p in pairs] == [("original", "renamed")]
    assert pairs[0].score >= 0.9
    score, _ = similarity.similarity(docs[0], docs[2])
    assert score < 0.2


def test_starter_code_does_not_make_everyone_similar():
    starter = similarity.document("starter", "starter", {"main.py": ORIGINAL})
    docs = [similarity.document(n, n, {"main.py": ORIGINAL + extra}, exclude=set(starter.prints))
            for n, extra in (("a", "\nprint(top_k({'a': 1}, 1))\n"), ("b", "\nfor x in range(3):\n    pass\n"))]
    assert similarity.flag(docs) == []


def test_the_similarity_page_is_for_the_labs_instructor_only(tiny_lab, alan, data_dir,
                                                             django_capture_on_commit_callbacks):
    Lab.objects.filter(pk=tiny_lab.pk).update(owner=alan)
    ids = {}
    for name, code in (("ada", ORIGINAL), ("grace", RENAMED), ("hopper", INDEPENDENT)):
        learner = create_account(username=name, password=PASSWORD, role="learner")
        with django_capture_on_commit_callbacks(execute=False):
            ids[name] = services.submit(learner=learner, lab=tiny_lab,
                                        intake=services.Intake(source="api_files", files={"main.py": code})).pk
    web = Client()
    assert web.login(username="alan", password=PASSWORD)
    page = web.get("/instructor/labs/tiny-answer/similarity/").content.decode()
    assert "3 submissions compared" in page and page.count("side by side") == 1
    assert f"/instructor/labs/tiny-answer/similarity/{ids['ada']}/{ids['grace']}/" in page
    shown = web.get(f"/instructor/labs/tiny-answer/similarity/{ids['ada']}/{ids['grace']}/").content.decode()
    assert "heapq.heapreplace(h, (value, key))" in shown and "heapq.heapreplace(heap, (score, doc_id))" in shown
    assert shown.count('class="hit"') >= 20
    learner = Client()
    assert learner.login(username="ada", password=PASSWORD)
    assert learner.get("/instructor/labs/tiny-answer/similarity/").status_code == 403
    url = f"/instructor/labs/tiny-answer/similarity/{ids['ada']}/{ids['grace']}/"
    assert learner.get(url).status_code == 403
