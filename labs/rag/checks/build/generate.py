"""Generate the Northwind Support corpus and its labelled queries, deterministically.

Everything comes from content.py and a seeded random.Random: the same code gives the
same passages, queries and labels byte for byte. Four kinds of query:

  keyword     an exact identifier (fault code, firmware build, part number, parameter
              name) wrapped in a customer's words: lexical search finds it, a sentence
              embedding mostly does not.
  paraphrase  a customer's description of a troubleshooting topic with no content word
              in common with the passages; relevant: that topic's passage for each of
              the category's five products.
  product     the same kind of description plus the product's name; relevant: that
              product's passage only. The name narrows, the meaning ranks.
  long        a description of the special-situation note at the end of one product's
              field-service passage, which lies past MiniLM's 256-token window.

check() asserts the properties the lab relies on (no shared content words between a
paraphrase and its relevant passages, unique identifiers, long passages really longer
than the encoder's window); tests/labs/test_rag.py runs it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from content import ACTIONS, CATEGORIES, SERVICE_PARAGRAPHS, SPECIAL_HEADER

SEED = 20240611
PUBLIC_FRACTION = 1 / 3

STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between
both but by can can't could did do does doing don't down during each even every few for from further get
got had has have having he her here hers him his how i if in into is isn't it it's its itself just me
more most my myself no nor not now of off on once one only or other our ours out over own same she
should so some still such than that the their them then there these they this those through to too
under until up very was we were what when where which while who whom why will with won't would you
your yours s t re ve ll d m
""".split())

TOKEN = re.compile(r"[a-z0-9]+")

CODE_FRAMES = ("{c}", "what does {c} mean", "got {c} this morning", "how do I get rid of {c}",
               "{c} popped up on my screen", "seeing {c} again, help", "{c} what now", "meaning of {c}")
BUILD_FRAMES = ("what changed in build {b}", "is build {b} worth installing", "anything broken in build {b}?")
PART_FRAMES = ("where can I buy {pn}", "{pn} in stock?", "how much is {pn}")
KEY_FRAMES = ("what is {k} on the {p} for", "{p} {k} meaning", "should I touch {k} on my {p}")
PRODUCT_FRAMES = ("{q} ({p})", "{p}: {q}", "{q} - {p}", "{q} with my {p}")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def content_words(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOPWORDS}


@dataclass
class Passage:
    id: str
    title: str
    text: str
    product: str
    section: str
    topic: str = ""  # category:index for troubleshooting passages


@dataclass
class Query:
    id: str
    text: str
    kind: str  # keyword | paraphrase | product | long
    relevant: dict[str, int]
    split: str = ""  # public | hidden
    lay: str = ""  # the paraphrased part, for check()
    meta: dict = field(default_factory=dict)


@dataclass
class Corpus:
    passages: list[Passage]
    queries: list[Query]


class Ids:
    """Unique random-looking identifiers (codes, builds, part numbers)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set()

    def number(self, lo: int, hi: int) -> int:
        while True:
            n = self.rng.randint(lo, hi)
            if n not in self.used:
                self.used.add(n)
                return n

    def code(self, fmt: str) -> str:
        if "{h}" in fmt:
            return fmt.format(h=f"{self.number(0x80010000, 0x8007FFFF):08X}")
        return fmt.format(n=self.number(1000, 9999))


def _long_text(rng: random.Random, product: str, rare: str) -> str:
    paragraphs = list(SERVICE_PARAGRAPHS)
    rng.shuffle(paragraphs)
    head = paragraphs[:7]
    return "\n\n".join([*(p.format(p=product) for p in head), f"{SPECIAL_HEADER} {rare.format(p=product)}"])


def build() -> Corpus:
    rng = random.Random(SEED)
    ids = Ids(rng)
    passages: list[Passage] = []
    queries: list[Query] = []
    doc_numbers = rng.sample(range(1000, 9999), 400)
    docs = iter(doc_numbers)

    def add_doc(title: str, product: str, section: str, texts: list[str], topics: list[str] | None = None) -> list[Passage]:
        doc = f"KB{next(docs)}"
        name, _, heading = title.partition(": ")
        title = f"{name} ({short}): {heading}"
        made = []
        for i, text in enumerate(texts, 1):
            p = Passage(f"{doc}-{i:02d}", title, text, product, section, (topics or [""] * len(texts))[i - 1])
            passages.append(p)
            made.append(p)
        return made

    keyword_targets: list[tuple[str, Passage, dict]] = []
    topic_passages: dict[str, dict[str, Passage]] = {}  # topic -> product -> passage
    long_passages: list[tuple[Passage, str, str]] = []  # passage, product, lay

    for cat_name, cat in CATEGORIES.items():
        short = cat["short"]
        for pi, product in enumerate(cat["products"]):
            add_doc(f"{product}: product overview", product, "overview",
                    [cat["overview"].format(p=product) + f" This article lists the documentation set for the "
                     f"{product}: fault codes, configuration parameters, firmware builds and spare parts."])
            texts, codes = [], []
            for _ in range(15):
                code = ids.code(cat["code"])
                cause = rng.choice(cat["causes"])
                texts.append(f"Fault code {code} on the {product} means {cause}. {rng.choice(ACTIONS)}")
                codes.append(code)
            for p, code in zip(add_doc(f"{product}: fault code reference", product, "codes", texts), codes,
                               strict=True):
                keyword_targets.append(("code", p, {"c": code}))
            texts, keys = [], []
            for key, meaning, default, unit in cat["keys"]:
                when = rng.choice(("apply after a reboot", "apply immediately", "apply at the following "
                                   "synchronisation window"))
                unit_text = f" {unit}" if unit else ""
                texts.append(f"Parameter {key} of the {product} defines {meaning}. Default: {default}{unit_text}. "
                             f"Changes {when}.")
                keys.append(key)
            for p, key in zip(add_doc(f"{product}: configuration parameters", product, "keys", texts), keys,
                              strict=True):
                keyword_targets.append(("key", p, {"k": key, "p": product}))
            texts, builds = [], []
            for _ in range(5):
                build = str(ids.number(10000, 99999))
                a, b = rng.sample(cat["causes"], 2)
                month = rng.choice(("January", "March", "May", "July", "September", "November"))
                texts.append(f"Firmware build {build} for the {product}, released in {month}, resolves a "
                             f"condition where {a}, and another where {b}.")
                builds.append(build)
            for p, build in zip(add_doc(f"{product}: firmware release notes", product, "builds", texts), builds,
                                strict=True):
                keyword_targets.append(("build", p, {"b": build}))
            topic_ids = [f"{cat_name}:{i}" for i in range(len(cat["topics"]))]
            made = add_doc(f"{product}: troubleshooting", product, "topics",
                           [tech.format(p=product) for tech, _ in cat["topics"]], topic_ids)
            for p in made:
                topic_passages.setdefault(p.topic, {})[product] = p
            texts, pns = [], []
            for part in cat["parts"]:
                pn = f"PN-{ids.number(10000, 99999)}-{rng.choice('ABCDEFGH')}"
                revs = rng.choice(("A and B", "B and later", "C only", "A to D"))
                texts.append(f"Replacement component {pn}: {part} for the {product}, compatible with hardware "
                             f"revisions {revs}. Available through the partner portal with a lead time of "
                             f"{rng.randint(2, 15)} business days.")
                pns.append(pn)
            for p, pn in zip(add_doc(f"{product}: spare parts", product, "parts", texts), pns, strict=True):
                keyword_targets.append(("part", p, {"pn": pn}))
            rare_tech, rare_lay = cat["rare"][pi]
            (long_p,) = add_doc(f"{product}: field service manual", product, "long",
                                [_long_text(rng, product, rare_tech)])
            long_passages.append((long_p, product, rare_lay))

    # -- queries ------------------------------------------------------------------------------
    n = 0

    def add_query(text: str, kind: str, relevant: dict[str, int], lay: str = "", **meta) -> None:
        nonlocal n
        n += 1
        queries.append(Query(f"q{n:03d}", text, kind, relevant, lay=lay, meta=meta))

    plan = {"code": 36, "build": 10, "part": 8, "key": 8}
    for kind, count in plan.items():
        pool = [t for t in keyword_targets if t[0] == kind]
        for _, p, slots in rng.sample(pool, count):
            frames = {"code": CODE_FRAMES, "build": BUILD_FRAMES, "part": PART_FRAMES, "key": KEY_FRAMES}[kind]
            ident = {"code": "c", "build": "b", "part": "pn", "key": "k"}[kind]
            add_query(rng.choice(frames).format(**slots), "keyword", {p.id: 1}, target=kind,
                      ident=slots[ident], product=slots.get("p", ""))

    topics = sorted(topic_passages)
    rng.shuffle(topics)
    for i, topic in enumerate(topics):
        cat_name, index = topic.split(":")
        lay = CATEGORIES[cat_name]["topics"][int(index)][1]
        by_product = topic_passages[topic]
        if i % 2 == 0:
            add_query(lay, "paraphrase", {p.id: 1 for p in by_product.values()}, lay=lay)
        else:
            product = rng.choice(sorted(by_product))
            text = rng.choice(PRODUCT_FRAMES).format(q=lay, p=product)
            add_query(text, "product", {by_product[product].id: 1}, lay=lay)

    for i, (p, product, lay) in enumerate(long_passages):
        text = lay if i % 2 == 0 else rng.choice(PRODUCT_FRAMES).format(q=lay, p=product)
        add_query(text, "long", {p.id: 1}, lay=lay)

    # stratified split: a third of each kind is public, the rest hidden
    for kind in ("keyword", "paraphrase", "product", "long"):
        group = [q for q in queries if q.kind == kind]
        rng.shuffle(group)
        cut = round(len(group) * PUBLIC_FRACTION)
        for j, q in enumerate(group):
            q.split = "public" if j < cut else "hidden"
    return Corpus(passages, queries)


def check(corpus: Corpus) -> list[str]:
    """Problems with the generated data (empty when it has the properties the lab needs)."""
    problems = []
    by_id = {p.id: p for p in corpus.passages}
    if len(by_id) != len(corpus.passages):
        problems.append("duplicate passage ids")
    for q in corpus.queries:
        if q.kind == "keyword":
            ident = q.meta["ident"]
            hits = [p.id for p in corpus.passages if ident in p.text and q.meta["product"] in p.text]
            if hits != list(q.relevant) or ident not in q.text:
                problems.append(f"{q.id}: identifier {ident} is in {len(hits)} passages")
            continue
        words = content_words(q.lay)
        for pid in q.relevant:
            p = by_id[pid]
            shared = words & content_words(p.title + " " + p.text) - content_words(p.title.split(":")[0])
            if shared:
                problems.append(f"{q.id} ({q.kind}) shares {sorted(shared)} with {pid}: {q.lay!r}")
    return problems


if __name__ == "__main__":
    c = build()
    print(len(c.passages), "passages;", len(c.queries), "queries")
    for kind in ("keyword", "paraphrase", "product", "long"):
        qs = [q for q in c.queries if q.kind == kind]
        print(f"  {kind}: {len(qs)} ({sum(q.split == 'public' for q in qs)} public)")
    for problem in check(c):
        print("PROBLEM", problem)
