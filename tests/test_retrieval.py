"""BM25, fusion and the CheckThat! 2020 Task 2 measures; the eval on real dev tweets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from typer.testing import CliRunner

from tracker.cli.eval import eval_app
from tracker.embedding.model import SentenceTransformerEmbedder
from tracker.errors import InputError
from tracker.evaluation.checkthat import (
    ClaimRetrievalData,
    average_precision,
    evaluate_retrieval,
    load_checkthat,
    load_claims,
    precision,
    score_run,
)
from tracker.search.retrieval import Bm25, Bm25Index, fuse, rrf, tokenize, top_k

CHECKTHAT = DATA / "checkthat2020"

# -- tokens and BM25 ----------------------------------------------------------------------


def test_tokenize_drops_links_stopwords_and_folds_plurals() -> None:
    text = "The claims' about Trump’s walls pic.twitter.com/Ab1 https://t.co/x — is it TRUE?"
    assert tokenize(text) == ["claim", "trump", "wall", "true"]


def test_bm25_scores_match_the_okapi_formula_by_hand() -> None:
    index = Bm25Index(["apple banana", "cherry date", "apple apple cherry fig"])
    # N = 3, lengths 2, 2, 4, mean 8/3; "apple" is in 2 documents.
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    norm0 = 1.2 * (1 - 0.75 + 0.75 * 2 / (8 / 3))
    norm2 = 1.2 * (1 - 0.75 + 0.75 * 4 / (8 / 3))
    expected = [idf * 1 * 2.2 / (1 + norm0), 0.0, idf * 2 * 2.2 / (2 + norm2)]
    assert index.scores("apple") == pytest.approx(expected)
    # A query term counts once per occurrence; unknown terms add nothing.
    assert index.scores("apples, apple! zebra") == pytest.approx([2 * e for e in expected])
    assert not index.scores("zebra").any()
    assert len(index) == 3 and index.vocabulary_size == 5


def test_bm25_ranks_the_rare_shared_term_first() -> None:
    index = Bm25Index(
        ["vaccine causes autism", "vaccine schedule for children", "moon landing was faked"]
    )
    assert top_k(index.scores("the moon landing hoax"), 1).tolist() == [2]
    assert top_k(index.scores("does the vaccine cause autism?"), 1).tolist() == [0]
    assert Bm25Index([]).scores("anything").shape == (0,)


def test_bm25_scores_a_few_candidates_with_the_whole_corpus_weights() -> None:
    corpus = ["vaccine causes autism", "vaccine schedule for children",
              "moon landing was faked", "the moon is made of cheese"]
    grown = Bm25(corpus[:2])
    grown.add(corpus[2:])
    # Counting in two steps is counting once; scoring the corpus itself is Bm25Index.
    query = "the moon landing vaccine hoax"
    assert grown.scores(query, corpus) == pytest.approx(Bm25Index(corpus).scores(query))
    # Candidates are ranked with the corpus's idf, not their own: "vaccine" is in half the
    # corpus, "landing" in a quarter, so a text with "landing" beats one with "vaccine",
    # although among these two candidates alone both terms are equally rare.
    candidates = ["vaccine hoax debunked", "landing hoax debunked"]
    assert top_k(grown.scores("vaccine landing", candidates), 1).tolist() == [1]
    assert not grown.scores("the of", candidates).any()
    assert grown.scores("anything", []).shape == (0,)


def test_fuse_weights_cosine_against_max_normalised_bm25() -> None:
    dense = np.array([0.9, 0.5, 0.1])
    bm25 = np.array([0.0, 10.0, 5.0])
    assert fuse(dense, bm25, 0.8) == pytest.approx([0.72, 0.6, 0.18])
    assert fuse(dense, bm25, 1.0) == pytest.approx(dense)
    assert fuse(dense, np.zeros(3), 0.5) == pytest.approx(dense / 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fuse(dense, bm25, 1.5)
    with pytest.raises(ValueError, match="shape"):
        fuse(dense, bm25[:2])


def test_rrf_sums_reciprocal_ranks() -> None:
    a = np.array([3.0, 2.0, 1.0])  # ranks 1, 2, 3
    b = np.array([1.0, 3.0, 2.0])  # ranks 3, 1, 2
    assert rrf(a, b, k=1) == pytest.approx([1 / 2 + 1 / 4, 1 / 3 + 1 / 2, 1 / 4 + 1 / 3])


def test_top_k_orders_ties_by_descending_index_like_trec_eval() -> None:
    scores = np.array([1.0, 2.0, 2.0, 0.0, 2.0])
    assert top_k(scores, 2).tolist() == [4, 2]
    assert top_k(scores, 10).tolist() == [4, 2, 1, 0, 3]
    assert top_k(scores, 0).tolist() == []


# -- measures, as the official scorer defines them -----------------------------------------


def test_average_precision_divides_by_all_relevant() -> None:
    ranked = ["x", "a", "y", "b", "z"]
    assert average_precision(ranked, {"a", "b"}, 5) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert average_precision(ranked, {"a", "b"}, 2) == pytest.approx((1 / 2) / 2)
    assert average_precision(ranked, {"a", "b"}, 1) == 0.0
    assert average_precision(ranked, {"x"}, 1) == 1.0
    assert average_precision(ranked, {"b"}, 3) == 0.0  # past the cut
    assert average_precision(ranked, {"b"}, 10) == pytest.approx(1 / 4)
    assert precision(ranked, {"a", "b"}, 1) == 0.0
    assert precision(ranked, {"a", "b"}, 5) == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="twice"):
        average_precision(["a", "a"], {"a"}, 5)


def test_score_run_averages_over_judged_ranked_tweets() -> None:
    run = {"t1": ["a", "b", "c"], "t2": ["c", "d", "e"], "t3": ["x"]}
    qrels = {"t1": {"a"}, "t2": {"e", "d"}, "t3": set(), "t4": {"q"}}
    figures = score_run(run, qrels)  # t3 has nothing relevant, t4 was not ranked
    assert figures.p_1 == pytest.approx(0.5)
    assert figures.map_1 == pytest.approx(0.5)
    assert figures.map_5 == pytest.approx((1 + (1 / 2 + 2 / 3) / 2) / 2)
    assert figures.as_dict()["map@5"] == round(figures.map_5, 4)


# -- data ---------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_load_claims_joins_split_records_unquotes_and_sorts(tmp_path: Path) -> None:
    path = tmp_path / "verified_claims.jsonl"
    _write_jsonl(path, [
        {"vclaim_id": "10", "vclaim": '"A ""law"" passed."', "title": "Law?"},
        {"vclaim_id": "2", "vclaim": '"Account of a Veterans', "title": ""},
        {"vclaim_id": 'Administration hospital."', "vclaim": "A Great Lady", "title": ""},
    ])
    claims = load_claims(path)
    assert [c.id for c in claims] == ["2", "10"]
    assert claims[0].claim == "Account of a Veterans Administration hospital."
    assert claims[0].title == "A Great Lady"
    assert claims[1].claim == 'A "law" passed.'


def test_load_checkthat_refuses_missing_or_inconsistent_data(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--data"):
        load_checkthat(tmp_path / "nowhere", "dev")
    with pytest.raises(InputError, match="unknown split"):
        load_checkthat(tmp_path, "valid")
    _write_jsonl(tmp_path / "verified_claims.jsonl", [{"vclaim_id": "1", "vclaim": "c"}])
    _write_jsonl(tmp_path / "tweets.jsonl", [
        {"tweet_id": "7", "split": "dev", "text": "t", "matching_vclaim_ids": ["9"]}
    ])
    with pytest.raises(InputError, match="no tweets of the train split"):
        load_checkthat(tmp_path, "train")
    with pytest.raises(InputError, match="'9'"):
        load_checkthat(tmp_path, "dev")
    (tmp_path / "tweets.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"tweets.jsonl:1"):
        load_checkthat(tmp_path, "dev")


def test_real_files_load_as_the_official_set() -> None:
    dev = load_checkthat(CHECKTHAT, "dev")
    assert (len(dev.claims), len(dev.tweets)) == (10375, 197)
    assert len(load_checkthat(CHECKTHAT, "train").tweets) == 800


# -- the eval, real model, real dev tweets -------------------------------------------------


@pytest.fixture(scope="module")
def dev_slice() -> ClaimRetrievalData:
    """30 real dev tweets ranked against their claims and 300 other verified claims."""
    return load_checkthat(CHECKTHAT, "dev").subset(tweets=30, distractors=300)


def test_fusion_and_dense_beat_a_trivial_ranking(
    dev_slice: ClaimRetrievalData, embedder: SentenceTransformerEmbedder
) -> None:
    report = evaluate_retrieval(dev_slice, embedder)
    figures = report.figures
    assert set(figures) == {"dense", "bm25", "fusion"}
    # The trivial ranking: the same claims for every tweet, in id order.
    same = [c.id for c in dev_slice.claims[:10]]
    trivial = score_run({t.id: same for t in dev_slice.tweets},
                        {t.id: t.relevant for t in dev_slice.tweets})
    assert trivial.map_5 < 0.05
    assert figures["dense"].map_5 > 0.6
    assert figures["fusion"].map_5 > 0.7
    assert figures["fusion"].map_5 >= figures["bm25"].map_5
    assert figures["fusion"].p_1 > 0.6
    assert report.as_dict()["best"] in ("dense", "fusion")
    assert (report.queries, report.claims) == (30, len(dev_slice.claims))


def _write_slice(folder: Path, data: ClaimRetrievalData) -> None:
    _write_jsonl(folder / "verified_claims.jsonl", [
        {"vclaim_id": c.id, "vclaim": c.claim, "title": c.title} for c in data.claims
    ])
    _write_jsonl(folder / "tweets.jsonl", [
        {"tweet_id": t.id, "split": t.split, "text": t.text,
         "matching_vclaim_ids": sorted(t.relevant)} for t in data.tweets
    ])


def test_cli_eval_retrieval_prints_json_and_a_table(
    tmp_path: Path, config_file: Path, dev_slice: ClaimRetrievalData,
    embedder: SentenceTransformerEmbedder,
) -> None:
    small = dev_slice.subset(tweets=10, distractors=100)
    _write_slice(tmp_path, small)
    runner = CliRunner()
    result = runner.invoke(eval_app, [
        "retrieval", "--data", str(tmp_path), "--json", "--config", str(config_file),
    ])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"split", "queries", "claims", "methods", "best"}
    assert (out["split"], out["queries"], out["claims"]) == ("dev", 10, len(small.claims))
    assert set(out["methods"]) == {"dense", "bm25", "fusion"}
    for figures in out["methods"].values():
        assert set(figures) == {"map@1", "map@5", "map@10", "p@1"}
        assert all(0.0 <= v <= 1.0 for v in figures.values())
    assert out["best"] in out["methods"]

    table = runner.invoke(eval_app, [
        "retrieval", "--data", str(tmp_path), "--method", "bm25", "--config", str(config_file),
    ])
    assert table.exit_code == 0, table.output
    assert "MAP@5" in table.output and "bm25" in table.output

    missing = runner.invoke(eval_app, ["retrieval", "--data", str(tmp_path / "none")])
    assert isinstance(missing.exception, InputError)
    assert "--data" in str(missing.exception)
