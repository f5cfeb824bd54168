from app.router import QUEUES, route


def test_routes_to_a_known_queue():
    assert route("The export button shows an error") == "bug_report"
    assert route("I was charged twice this month") == "billing"
    assert route("Please cancel my subscription") == "cancellation"


def test_every_answer_is_a_queue():
    assert all(route(text) in QUEUES for text in ("", "hello", "LOCKED OUT again"))
