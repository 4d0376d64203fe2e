"""Similarity thresholds for clustering and incident linking, measured on real PHEME data.

    .venv/bin/python bench/thresholds.py

Answers three questions with the real all-MiniLM-L6-v2 model and prints small tables for
each. The first run encodes ~20,000 sentences (about 2.5 minutes on two cores); vectors
are cached in ``bench/out/*.npy`` (keyed by model settings and texts), so reruns take
seconds. The recommended values are the constants T_JOIN, T_MERGE and T_LINK below.

1. **Join** (``T_join``): online leader clustering of claims. Each claim, in event-time
   order, joins the cluster whose centroid (normalized running sum of member vectors) is
   most similar if that cosine is >= T_join, else it starts a cluster. Measured
   (a) on every claim of the germanwings full threads against the PHEME ``thread_id``
   (a weak ceiling: replies discuss rather than repeat the source), and (b) on the
   germanwings source tweets plus the replies that are near-verbatim copies of a source,
   against near-duplicate groups (found by word overlap, not by the model) and against
   stories labelled by keyword rules (STORIES below; a weak label, but independent of the
   model) for the competing germanwings stories ("co-pilot was a Muslim convert",
   "co-pilot had depression", "pilot locked out", "a distress call was sent",
   "no distress call was sent", ...).
2. **Merge** (``T_merge``): after leader clustering at the chosen T_join, greedy centroid
   linkage: repeatedly merge the two clusters whose centroids are closest, while that
   cosine is >= T_merge. Same measures.
3. **Link** (``T_link``): a post belongs to an incident when the best cosine between any
   of its claims (or its whole text) and the incident description is >= T_link. Measured
   on the source tweets of eight PHEME events, each against one written description per
   event: recall on the event's own tweets (also restricted to tweets with none of the
   event's obvious keywords, the ones term matching would miss) and the false link rate
   on every other event's tweets. RumourEval 2017 replies are a second, chattier set, and
   Twitter15/16 source posts without any event keyword stand for unrelated chatter.

Data: ``../shared/data/pheme/`` (see its README). The claim extractor is
``SentenceClaimExtractor(3)``, as in the product.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.claims.extract import SentenceClaimExtractor, clean_sentence  # noqa: E402
from tracker.config.settings import Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pheme"
OUT = ROOT / "bench" / "out"

JOIN_GRID = [round(0.50 + 0.05 * i, 2) for i in range(8)]  # 0.50 .. 0.85
MERGE_GRID = [round(0.70 + 0.05 * i, 2) for i in range(5)]  # 0.70 .. 0.90
LINK_GRID = [round(0.25 + 0.05 * i, 2) for i in range(8)]  # 0.25 .. 0.60

# The recommendation this script argues for; the merge table is computed at T_JOIN.
T_JOIN = 0.75
T_MERGE = 0.85
T_LINK = 0.50

NEAR_DUP_JACCARD = 0.6  # word-set overlap that makes two tweets "the same tweet"

EVENTS: dict[str, str] = {
    "germanwings-crash": "Germanwings flight 4U9525, an Airbus A320 from Barcelona to "
    "Düsseldorf, crashed in the French Alps; all 150 people on board died.",
    "charliehebdo": "Gunmen attacked the Paris offices of the satirical magazine Charlie "
    "Hebdo in January 2015, killing twelve people including cartoonists and a police officer.",
    "ferguson": "Michael Brown, an unarmed black teenager, was shot dead by a police officer "
    "in Ferguson, Missouri, in August 2014, setting off protests and riots.",
    "sydneysiege": "A gunman held customers and staff hostage in the Lindt café in Martin "
    "Place, Sydney, in December 2014; the siege ended with the gunman and two hostages dead.",
    "ebola-essien": "Rumour that the Ghanaian footballer Michael Essien of AC Milan has "
    "contracted the Ebola virus.",
    "gurlitt": "The Kunstmuseum Bern in Switzerland accepted Cornelius Gurlitt's bequest of "
    "his art collection, which includes works looted by the Nazis.",
    "prince-toronto": "Rumour that the musician Prince will play a secret concert in Toronto.",
    "putinmissing": "Russian president Vladimir Putin vanished from public view for ten days "
    "in March 2015, setting off rumours about his health.",
}

# Words that term matching would catch anyway (case-insensitive substrings).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "germanwings-crash": ("germanwings", "german wings", "4u9525", "4u 9525", "a320",
                          "airbus", "alps", "lubitz", "co-pilot", "copilot"),
    "charliehebdo": ("charlie", "hebdo", "kouachi"),
    "ferguson": ("ferguson", "michael brown", "mike brown", "mikebrown", "darren wilson"),
    "sydneysiege": ("sydney", "siege", "lindt", "martin place", "martinplace", "monis"),
    "ebola-essien": ("ebola", "essien"),
    "gurlitt": ("gurlitt",),
    "prince-toronto": ("prince", "toronto"),
    "putinmissing": ("putin",),
}

# Competing germanwings stories, by keyword. A tweet gets a story only when exactly one
# story matches it; the rest stay unlabelled. (name, pattern, pattern that vetoes it)
STORIES: list[tuple[str, str, str | None]] = [
    ("muslim-convert", r"\bislam|muslim|\bconvert", None),
    ("depression", r"depress|burn-?out|psychiatr|mental|unsuitable|sick note|illness", None),
    ("locked-out", r"locked out|banging on the door|left (the )?cockpit|get back in|door", None),
    ("distress-denied", r"(n[o']t|n’t) (send|sen[dt]|report|issue)\w*.{0,25}(distress|mayday)"
     r"|no mayday|(came|sent) (from|by) air traffic|atc (declared|launch)"
     r"|cannot confirm.{0,40}distress|didn't itself issue", None),
    ("distress-sent", r"distress|mayday|emergency|urgence|\bsos\b",
     r"(n[o']t|n’t) (send|sen[dt]|report|issue)|no mayday|air traffic|\batc\b|cannot confirm"),
    ("no-survivors", r"survivor|survived|feared dead|all .{0,25} dead", None),
    ("descent", r"descen|plunged|feet per minute|\bfpm\b|altitude|6,?800|38,?000", None),
    ("deliberate", r"deliberate|on purpose|intentional|destroy the plane|rammed", None),
    ("copilot-named", r"\bnames?d?\b|identif", None),
    ("victims", r"bab(y|ies)|children|students|teachers|haltern|citizens|germans\b"
     r"|spaniards|americans|nationals", None),
    ("logo", r"\blogo\b", None),
    ("black-box", r"black box|voice recorder|cockpit voice|\bcvr\b", None),
    ("sympathy", r"thoughts|prayers|\bpray|\br\.?i\.?p\b|condolence|heart goes out", None),
    ("crash-report", r"\bcrash(ed|es)\b|went down|has crashed", None),
]


# --- data ---------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass(frozen=True)
class Claim:
    text: str
    post: int  # index of the post it came from


def extract(texts: Sequence[str]) -> list[Claim]:
    """Claims of each text in order, as the product extracts them."""
    extractor = SentenceClaimExtractor(3)
    return [Claim(c.text, i) for i, t in enumerate(texts) for c in extractor.extract(t)]


def whole_text(text: str) -> str:
    return clean_sentence(" ".join(text.split()))


def encode(name: str, texts: Sequence[str]) -> np.ndarray:
    """Normalized vectors of ``texts``, cached in bench/out by a hash of model and texts."""
    settings = Settings().embedding
    digest = hashlib.sha256(repr(settings).encode())
    for t in texts:
        digest.update(t.encode("utf-8") + b"\x00")
    path = OUT / f"vectors-{name}-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    from tracker.runtime import shared_embedder

    start = time.perf_counter()
    vectors = shared_embedder(settings).encode(list(texts))
    print(f"  encoded {len(texts)} texts for {name} in {time.perf_counter() - start:.0f} s",
          file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def encode_unique(name: str, texts: Sequence[str]) -> np.ndarray:
    """Like :func:`encode`, each distinct text encoded once."""
    unique = sorted(set(texts))
    vectors = encode(name, unique)
    row = {t: i for i, t in enumerate(unique)}
    return vectors[[row[t] for t in texts]]


# --- clustering ---------------------------------------------------------------------------


def leader(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Online leader clustering; returns a cluster label per row, in row order."""
    n, dim = vectors.shape
    sums = np.zeros((n, dim), dtype=np.float64)
    centroids = np.zeros((n, dim), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    k = 0
    for i, v in enumerate(vectors):
        if k:
            sims = centroids[:k] @ v
            j = int(sims.argmax())
            if sims[j] >= threshold:
                labels[i] = j
                sums[j] += v
                centroids[j] = sums[j] / np.linalg.norm(sums[j])
                continue
        labels[i] = k
        sums[k] = v
        centroids[k] = v
        k += 1
    return labels


def merge(vectors: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy centroid linkage over the clusters in ``labels``: merge the closest pair of
    centroids (normalized sums of member vectors) while their cosine is >= threshold."""
    k = int(labels.max()) + 1
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors)
    cents = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    sim = cents @ cents.T
    np.fill_diagonal(sim, -np.inf)
    alive = np.ones(k, dtype=bool)
    best = sim.argmax(axis=1)
    best_v = sim[np.arange(k), best]
    parent = np.arange(k)
    while True:
        i = int(best_v.argmax())
        if best_v[i] < threshold:
            break
        j = int(best[i])
        sums[i] += sums[j]
        cents[i] = sums[i] / np.linalg.norm(sums[i])
        parent[j] = i
        alive[j] = False
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        best_v[j] = -np.inf
        row = cents @ cents[i]
        row[~alive] = -np.inf
        row[i] = -np.inf
        sim[i, :] = row
        sim[:, i] = row
        stale = np.flatnonzero(alive & ((best == i) | (best == j)))
        for r in stale:
            best[r] = int(sim[r].argmax())
            best_v[r] = sim[r, best[r]]
        better = alive & (row > best_v)
        best[better] = i
        best_v[better] = row[better]
        best[i] = int(row.argmax())
        best_v[i] = row[best[i]]
    for c in range(k):  # path compression: every old cluster to its surviving root
        root = c
        while parent[root] != root:
            root = parent[root]
        parent[c] = root
    merged: np.ndarray = parent[labels]
    return merged


# --- measures -----------------------------------------------------------------------------


def sizes(labels: np.ndarray) -> np.ndarray:
    counts: np.ndarray = np.bincount(labels)
    return counts[counts > 0]


def pair_counts(labels: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(pair recall, pair precision) of ``labels`` against ``truth``: of the pairs that
    share a truth label, the share that share a cluster; and the converse."""
    def pairs(counts: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    both = pairs(Counter(zip(labels.tolist(), truth.tolist(), strict=True)).values())
    same_truth = pairs(Counter(truth.tolist()).values())
    same_cluster = pairs(Counter(labels.tolist()).values())
    recall = both / same_truth if same_truth else float("nan")
    precision = both / same_cluster if same_cluster else float("nan")
    return recall, precision


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "-" if np.isnan(v) else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    body = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in body:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))


def basic(labels: np.ndarray) -> list[object]:
    s = sizes(labels)
    return [len(s), float((s == 1).mean()), int(s.max())]


# --- question 1 and 2: full threads -------------------------------------------------------


@dataclass
class Threads:
    claims: list[Claim]
    vectors: np.ndarray
    thread: np.ndarray  # thread index per claim
    rumour: np.ndarray  # bool per claim: its thread is a rumour


def load_threads() -> Threads:
    posts = read_jsonl(DATA / "fullthreads" / "germanwings-crash.jsonl")
    posts.sort(key=lambda p: str(p["created_at"]))
    claims = extract([str(p["text"]) for p in posts])
    vectors = encode("gw-threads", [c.text for c in claims])
    threads = {t: i for i, t in enumerate(dict.fromkeys(str(p["thread_id"]) for p in posts))}
    thread = np.array([threads[str(posts[c.post]["thread_id"])] for c in claims])
    rumour = np.array([posts[c.post]["rumour_label"] == "rumour" for c in claims])
    return Threads(claims, vectors, thread, rumour)


THREAD_HEADER = ["T", "clusters", "single", "largest", "thr>=3", "cl/thr", "in-big",
                 "mixed>=3", "mixed%", "ARI", "homog", "compl"]


def thread_row(t: float, labels: np.ndarray, data: Threads) -> list[object]:
    per_thread: dict[int, Counter[int]] = defaultdict(Counter)
    for c, th in zip(labels.tolist(), data.thread.tolist(), strict=True):
        per_thread[th][c] += 1
    big = [cnt for cnt in per_thread.values() if sum(cnt.values()) >= 3]
    n_clusters = float(np.mean([len(cnt) for cnt in big]))
    in_big = float(np.mean([max(cnt.values()) / sum(cnt.values()) for cnt in big]))
    members: dict[int, set[bool]] = defaultdict(set)
    counts = Counter(labels.tolist())
    for c, r in zip(labels.tolist(), data.rumour.tolist(), strict=True):
        members[c].add(r)
    sized = [c for c, n in counts.items() if n >= 3]
    mixed = sum(1 for c in sized if len(members[c]) == 2)
    homog, compl, _ = homogeneity_completeness_v_measure(data.thread, labels)
    return [t, *basic(labels), len(big), n_clusters, in_big, mixed,
            mixed / len(sized) if sized else float("nan"),
            adjusted_rand_score(data.thread, labels), homog, compl]


# --- question 1 and 2: source tweets, near duplicates, stories ----------------------------


@dataclass
class Sources:
    claims: list[Claim]
    vectors: np.ndarray
    dup_pairs: np.ndarray  # (pairs, 2): claims whose word sets overlap >= NEAR_DUP_JACCARD
    story: np.ndarray  # story index per claim (-1: unlabelled)
    story_names: list[str]
    n_posts: int
    n_dup_replies: int


_NOISE = re.compile(r"https?://\S+|@\w+|\brt\b|&amp;")


def word_matrix(texts: Sequence[str]) -> sparse.csr_matrix:
    """Binary text x word matrix, ignoring links, mentions and the retweet marker."""
    vec = CountVectorizer(binary=True, token_pattern=r"[a-z0-9]+", lowercase=True)
    return sparse.csr_matrix(vec.fit_transform([_NOISE.sub(" ", t.lower()) for t in texts]),
                             dtype=np.int32)


def near_duplicate_pairs(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """(i, j) with rows a[i], b[j] of >= 4 words each and word-set Jaccard >= NEAR_DUP_JACCARD."""
    size_a = np.asarray(a.sum(axis=1)).ravel()
    size_b = np.asarray(b.sum(axis=1)).ravel()
    inter = (a @ b.T).tocoo()
    union = size_a[inter.row] + size_b[inter.col] - inter.data
    keep = (inter.data / np.maximum(union, 1) >= NEAR_DUP_JACCARD) & (
        np.minimum(size_a[inter.row], size_b[inter.col]) >= 4)
    return np.stack([inter.row[keep], inter.col[keep]], axis=1)


def story_of(text: str) -> int:
    low = " ".join(text.lower().split())
    hits = [i for i, (_, pat, veto) in enumerate(STORIES)
            if re.search(pat, low) and not (veto and re.search(veto, low))]
    return hits[0] if len(hits) == 1 else -1


def load_sources() -> Sources:
    """The germanwings source tweets, and the replies that are near-verbatim copies of one
    (retweets with a comment, "RT @x: ..." and the like), in event-time order."""
    posts = read_jsonl(DATA / "fullthreads" / "germanwings-crash.jsonl")
    posts.sort(key=lambda p: str(p["created_at"]))
    texts = [str(p["text"]) for p in posts]
    is_source = np.array([bool(p["is_source"]) for p in posts])
    words = word_matrix(texts)
    src_idx = np.flatnonzero(is_source)
    copies = near_duplicate_pairs(words, words[src_idx])
    copy = np.zeros(len(posts), dtype=bool)
    copy[copies[:, 0][copies[:, 0] != src_idx[copies[:, 1]]]] = True
    keep = [i for i in range(len(posts)) if is_source[i] or copy[i]]
    kept_texts = [texts[i] for i in keep]
    claims = extract(kept_texts)
    vectors = encode("gw-sources", [c.text for c in claims])
    pairs = near_duplicate_pairs(*(2 * [word_matrix([c.text for c in claims])]))
    post_story = [story_of(whole_text(t)) for t in kept_texts]
    return Sources(
        claims=claims,
        vectors=vectors,
        dup_pairs=pairs[pairs[:, 0] < pairs[:, 1]],
        story=np.array([post_story[c.post] for c in claims]),
        story_names=[s[0] for s in STORIES],
        n_posts=len(keep),
        n_dup_replies=int(sum(1 for i in keep if not is_source[i])),
    )


SOURCE_HEADER = ["T", "clusters", "single", "largest", "dup-rec", "st-purity", "st-cohes",
                 "st-ARI", "st-merged"]


def story_clusters(labels: np.ndarray, data: Sources) -> dict[int, Counter[int]]:
    """Per story, how its labelled claims spread over clusters."""
    spread: dict[int, Counter[int]] = defaultdict(Counter)
    for c, s in zip(labels.tolist(), data.story.tolist(), strict=True):
        if s >= 0:
            spread[s][c] += 1
    return spread


def cluster_stories(labels: np.ndarray, data: Sources) -> dict[int, Counter[int]]:
    """Per cluster, the stories of its labelled claims."""
    held: dict[int, Counter[int]] = defaultdict(Counter)
    for c, s in zip(labels.tolist(), data.story.tolist(), strict=True):
        if s >= 0:
            held[c][s] += 1
    return held


def source_row(t: float, labels: np.ndarray, data: Sources) -> list[object]:
    dup_recall = float((labels[data.dup_pairs[:, 0]] == labels[data.dup_pairs[:, 1]]).mean())
    lab = data.story >= 0
    held = cluster_stories(labels, data)
    purity = sum(max(cnt.values()) for cnt in held.values()) / int(lab.sum())
    spread = [cnt for cnt in story_clusters(labels, data).values() if sum(cnt.values()) >= 5]
    cohesion = float(np.mean([max(cnt.values()) / sum(cnt.values()) for cnt in spread]))
    # stories (>= 5 claims) whose biggest cluster is led by another story: swallowed whole
    merged = 0
    for s, cnt in story_clusters(labels, data).items():
        if sum(cnt.values()) >= 5:
            home = cnt.most_common(1)[0][0]
            merged += held[home].most_common(1)[0][0] != s
    return [t, *basic(labels), dup_recall, purity, cohesion,
            adjusted_rand_score(data.story[lab], labels[lab]), merged]


def story_table(title: str, labels: np.ndarray, data: Sources) -> None:
    held = cluster_stories(labels, data)
    rows: list[list[object]] = []
    for s, cnt in sorted(story_clusters(labels, data).items(), key=lambda kv: -kv[1].total()):
        home, n_home = cnt.most_common(1)[0]
        others = held[home] - Counter({s: held[home][s]})
        rows.append([data.story_names[s], cnt.total(), len(cnt), n_home / cnt.total(),
                     int((labels == home).sum()),
                     ", ".join(f"{data.story_names[o]} {n}" for o, n in others.most_common(3))])
    table(title, ["story", "claims", "clusters", "in-big", "big-size", "other stories in it"],
          rows)


def story_similarity(data: Sources) -> None:
    """Cosine between story centroids: a merge threshold below the similarity of two
    competing stories lets consolidation fuse them once their clusters are big enough."""
    names: list[str] = []
    cents: list[np.ndarray] = []
    for s, name in enumerate(data.story_names):
        members = data.story == s
        if members.sum() >= 5:
            total = data.vectors[members].sum(axis=0)
            names.append(name)
            cents.append(total / np.linalg.norm(total))
    sim = np.stack(cents) @ np.stack(cents).T
    table("cosine between story centroids (stories with >= 5 claims)",
          ["story", *[n[:9] for n in names]],
          [[n, *[float(v) for v in sim[i]]] for i, n in enumerate(names)])


def join_merge_grid(data: Sources, joins: Sequence[float], merges: Sequence[float]) -> None:
    rows: list[list[object]] = []
    for tj in joins:
        base = leader(data.vectors, tj)
        for tm in [None, *merges]:
            labels = base if tm is None else merge(data.vectors, base, tm)
            row = source_row(tj, labels, data)
            rows.append([tj, "none" if tm is None else tm, *row[1:]])
    table("source tweets: T_join x T_merge", ["T_join", "T_merge", *SOURCE_HEADER[1:]], rows)


# --- question 3: incident links -----------------------------------------------------------


@dataclass
class LinkSet:
    event: np.ndarray  # event index per post
    score: np.ndarray  # (posts, events): best cosine of any claim or the whole text
    keyword: np.ndarray  # (posts, events): the post contains an obvious keyword of the event


def link_set(name: str, posts: Sequence[dict[str, object]], desc: np.ndarray,
             events: Sequence[str]) -> LinkSet:
    texts = [str(p["text"]) for p in posts]
    claims = extract(texts)
    units = [(c.post, c.text) for c in claims]
    units += [(i, w) for i, t in enumerate(texts) if (w := whole_text(t))]
    vectors = encode_unique(name, [u[1] for u in units])
    sims = vectors @ desc.T
    score = np.full((len(texts), len(events)), -1.0, dtype=np.float32)
    owner = np.array([u[0] for u in units])
    np.maximum.at(score, owner, sims)
    keyword = np.array([[any(k in t.lower() for k in KEYWORDS[e]) for e in events]
                        for t in texts])
    index = {e: i for i, e in enumerate(events)}
    return LinkSet(np.array([index.get(str(p["event"]), -1) for p in posts]), score, keyword)


def link_tables(title: str, data: LinkSet, events: Sequence[str]) -> None:
    n_ev = len(events)
    own = data.score[np.arange(len(data.event)), data.event]
    own_kw = data.keyword[np.arange(len(data.event)), data.event]
    other = data.event[:, None] != np.arange(n_ev)[None, :]
    rows: list[list[object]] = []
    for t in LINK_GRID:
        hit = data.score >= t
        rows.append([t, float((own >= t).mean()), float((own[~own_kw] >= t).mean()),
                     int((~own_kw).sum()), float(hit[other].mean()), int(hit[other].sum()),
                     float((hit & other).any(axis=1).mean())])
    table(f"{title}: overall ({len(data.event)} posts, {n_ev} descriptions)",
          ["T", "recall", "rec-nokw", "n-nokw", "false", "false-n", "posts-w-false"], rows)

    short = [e.split("-")[0][:8] for e in events]
    rec_rows: list[list[object]] = []
    for e, name in enumerate(events):
        mine = data.event == e
        if not mine.any():
            continue
        nokw = mine & ~data.keyword[:, e]
        rec_rows.append([name, int(mine.sum()), int(nokw.sum()),
                         *[float((data.score[mine, e] >= t).mean()) for t in LINK_GRID],
                         *[float((data.score[nokw, e] >= t).mean()) if nokw.any()
                           else float("nan") for t in LINK_GRID[2:6]]])
    table(f"{title}: recall per event (own description); rec-nokw = tweets without keywords",
          ["event", "n", "nokw", *[f"{t:.2f}" for t in LINK_GRID],
           *[f"nokw{t:.2f}" for t in LINK_GRID[2:6]]], rec_rows)

    fl_rows: list[list[object]] = []
    for e, name in enumerate(events):
        others = data.event != e
        fl_rows.append([name, int(others.sum()),
                        *[float((data.score[others, e] >= t).mean()) for t in LINK_GRID]])
    table(f"{title}: false link rate per description (share of other events' posts >= T)",
          ["description", "n", *[f"{t:.2f}" for t in LINK_GRID]], fl_rows)

    conf = np.zeros((n_ev, n_ev), dtype=np.int64)
    for e in range(n_ev):
        hit = data.score[:, e] >= T_LINK
        for f in range(n_ev):
            if f != e:
                conf[f, e] = int((hit & (data.event == f)).sum())
    table(f"{title}: false links at T_link={T_LINK:.2f} (row: post's event, column: description)",
          ["event", *short], [[events[f], *conf[f].tolist()] for f in range(n_ev)])


def top_links(data: LinkSet, posts: Sequence[dict[str, object]], events: Sequence[str],
              n: int) -> None:
    """The posts most similar to a description of another event than their own."""
    other = data.event[:, None] != np.arange(len(events))[None, :]
    masked = np.where(other, data.score, -1.0)
    best = masked.max(axis=1)
    print("\nstrongest false links (cosine, post's event -> description, text)")
    for i in np.argsort(-best)[:n]:
        e = int(masked[i].argmax())
        own = events[data.event[i]] if data.event[i] >= 0 else "chatter"
        text = " ".join(str(posts[i]["text"]).split())[:90]
        print(f"  {best[i]:.2f}  {own[:12]:>12} -> {events[e][:12]:<12} {text}")


def keyword_free_links(data: LinkSet, posts: Sequence[dict[str, object]],
                       events: Sequence[str], n: int) -> None:
    """What the description adds over term matching: own-event posts without keywords."""
    rows = np.arange(len(data.event))
    own = data.score[rows, data.event]
    free = ~data.keyword[rows, data.event]
    hits = np.flatnonzero(free & (own >= T_LINK))
    print(f"\nkeyword-free posts linked to their own event at T_link={T_LINK:.2f}: "
          f"{len(hits)} of {int(free.sum())}; the weakest of them:")
    for i in hits[np.argsort(own[hits])][:n]:
        text = " ".join(str(posts[i]["text"]).split())[:90]
        print(f"  {own[i]:.2f}  {events[data.event[i]][:12]:>12}  {text}")


def load_chatter(events: Sequence[str]) -> list[dict[str, object]]:
    """Source posts of Twitter15/16 (other rumours and news, 2012-2016) that contain no
    keyword of any of the events: unrelated chatter a description must not pull in."""
    texts: dict[str, None] = {}
    for name in ("twitter15", "twitter16"):
        with gzip.open(DATA.parent / "twitter15_16" / f"{name}_cascades.jsonl.gz", "rt",
                       encoding="utf-8") as fh:
            for line in fh:
                texts[str(json.loads(line)["text"])] = None
    words = [k for e in events for k in KEYWORDS[e]]
    return [{"text": t, "event": ""} for t in texts if not any(w in t.lower() for w in words)]


def chatter_table(data: LinkSet, events: Sequence[str]) -> None:
    rows: list[list[object]] = []
    for t in LINK_GRID:
        hit = data.score >= t
        rows.append([t, float(hit.any(axis=1).mean()), int(hit.any(axis=1).sum()),
                     *[int(hit[:, e].sum()) for e in range(len(events))]])
    table(f"Twitter15/16 chatter without event keywords ({len(data.event)} posts): share and "
          "number linked to any description, then count per description",
          ["T", "linked", "n", *[e.split("-")[0][:8] for e in events]], rows)


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    start = time.perf_counter()
    threads = load_threads()
    sources = load_sources()
    n_threads = len(set(threads.thread.tolist()))
    print(f"germanwings full threads: {len(threads.claims)} claims from "
          f"{len(set(c.post for c in threads.claims))} posts, {n_threads} threads")
    labelled = Counter(sources.story_names[s] for s in sources.story.tolist() if s >= 0)
    print(f"germanwings sources + near-verbatim replies: {sources.n_posts} posts "
          f"({sources.n_dup_replies} replies), {len(sources.claims)} claims, "
          f"{len(sources.dup_pairs)} near-duplicate claim pairs; {sum(labelled.values())} "
          "claims with a keyword story: "
          + ", ".join(f"{k} {v}" for k, v in labelled.most_common()))

    print("\n== 1. join threshold: online leader clustering ==")
    join_threads = {t: leader(threads.vectors, t) for t in JOIN_GRID}
    table("all claims of the germanwings threads vs PHEME thread_id\n"
          "  single: share of clusters with one claim; thr>=3: threads with >= 3 claims; "
          "cl/thr: clusters per such thread;\n  in-big: share of its claims in its biggest "
          "cluster; mixed>=3: clusters of >= 3 claims holding rumour and non-rumour threads",
          THREAD_HEADER, [thread_row(t, lab, threads) for t, lab in join_threads.items()])
    join_sources = {t: leader(sources.vectors, t) for t in JOIN_GRID}
    table("source tweets + near-verbatim replies\n"
          "  dup-rec: near-duplicate claim pairs in one cluster; st-purity: labelled claims "
          "in a cluster led by their own story;\n  st-cohes: mean share of a story's claims "
          "in its biggest cluster; st-merged: stories (>= 5 claims) whose biggest cluster "
          "another story leads", SOURCE_HEADER,
          [source_row(t, lab, sources) for t, lab in join_sources.items()])
    story_table(f"stories at T_join={T_JOIN:.2f}, no merge", join_sources[T_JOIN], sources)

    print(f"\n== 2. merge threshold: greedy centroid linkage after leader at {T_JOIN:.2f} ==")
    base_t = join_threads[T_JOIN]
    base_s = join_sources[T_JOIN]
    merged_t = {t: merge(threads.vectors, base_t, t) for t in MERGE_GRID}
    table("all claims of the germanwings threads vs thread_id (first row: no merge)",
          THREAD_HEADER,
          [["none", *thread_row(T_JOIN, base_t, threads)[1:]],
           *(thread_row(t, lab, threads) for t, lab in merged_t.items())])
    merged_s = {t: merge(sources.vectors, base_s, t) for t in MERGE_GRID}
    table("source tweets + near-verbatim replies (first row: no merge)", SOURCE_HEADER,
          [["none", *source_row(T_JOIN, base_s, sources)[1:]],
           *(source_row(t, lab, sources) for t, lab in merged_s.items())])
    final = merged_s[T_MERGE]
    looser = round(T_MERGE - 0.05, 2)
    if looser in merged_s:
        story_table(f"stories at T_join={T_JOIN:.2f} + T_merge={looser:.2f} (one step looser)",
                    merged_s[looser], sources)
    story_table(f"stories at T_join={T_JOIN:.2f} + T_merge={T_MERGE:.2f}", final, sources)
    print(f"\nlargest source clusters at T_join={T_JOIN:.2f} + T_merge={T_MERGE:.2f}:")
    for c, n in Counter(final.tolist()).most_common(8):
        members = np.flatnonzero(final == c)
        st = Counter(sources.story_names[sources.story[i]] if sources.story[i] >= 0 else "-"
                     for i in members)
        print(f"  {n:4d}  {sources.claims[members[0]].text[:64]!r:<66} "
              + ", ".join(f"{k} {v}" for k, v in st.most_common(4)))

    story_similarity(sources)
    join_merge_grid(sources, [0.70, 0.75, 0.80], [0.80, 0.85, 0.90])

    print("\n== 3. incident link threshold ==")
    events = list(EVENTS)
    desc = encode("descriptions", [EVENTS[e] for e in events])
    src_posts = [p for e in events if (DATA / "sources" / f"{e}.jsonl").exists()
                 for p in read_jsonl(DATA / "sources" / f"{e}.jsonl")]
    src = link_set("link-sources", src_posts, desc, events)
    link_tables("source tweets of 8 PHEME events", src, events)
    top_links(src, src_posts, events, 8)
    keyword_free_links(src, src_posts, events, 8)
    replies = [p for e in events if (DATA / "rumoureval2017" / f"{e}.jsonl").exists()
               for p in read_jsonl(DATA / "rumoureval2017" / f"{e}.jsonl")
               if not p["is_source"]]
    rep = link_set("link-replies", replies, desc, events)
    link_tables("RumourEval 2017 replies", rep, events)
    chatter = load_chatter(events)
    chat = link_set("link-chatter", chatter, desc, events)
    chatter_table(chat, events)
    top_links(chat, chatter, events, 8)

    print(f"\nrecommended: T_join={T_JOIN:.2f}  T_merge={T_MERGE:.2f}  T_link={T_LINK:.2f}"
          f"   ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
