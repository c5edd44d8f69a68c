"""Latency metrics on examples worked by hand from the papers' definitions (no SimulEval needed;
tests/test_simuleval.py compares the same functions with SimulEval's scorers)."""

from __future__ import annotations

import pytest

from nmt import __version__
from nmt.evaluation.latency import (
    SentenceDelays,
    average_lagging,
    average_proportion,
    corpus_latency,
    differentiable_average_lagging,
    length_adaptive_average_lagging,
    normalized_erasure,
    signature,
)


def wait_k(k: int, source_length: int, target_length: int) -> list[int]:
    """Delays of the wait-k policy, g(i) = min(k + i - 1, |x|) (Ma et al. 2019, eq. 2)."""
    return [min(k + i, source_length) for i in range(target_length)]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_wait_k_lags_k_words_when_lengths_are_equal(k):
    # Ma et al. 2019 (Sec. 4): with |x| = |y|, wait-k's AL is exactly k; Cherry and Foster
    # 2019 keep that property for DAL. 10 words: delays 3, 4, ..., 10, 10, 10 for k = 3.
    delays = wait_k(k, 10, 10)
    assert average_lagging(delays, 10) == pytest.approx(k)
    assert differentiable_average_lagging(delays, 10) == pytest.approx(k)
    assert length_adaptive_average_lagging(delays, 10, 10) == pytest.approx(k)


def test_full_sentence_translation_lags_the_whole_source():
    # Waiting for the whole source: AL = DAL = |x| (tau = 1) and AP = 1 (Cho and Esipova 2016).
    delays = [7] * 5
    assert average_lagging(delays, 7) == 7
    assert differentiable_average_lagging(delays, 7) == pytest.approx(7)
    assert average_proportion(delays, 7) == 1


def test_dal_penalizes_a_burst_that_al_ignores():
    # |x| = |y| = 4, delays 1, 4, 4, 4. AL stops at tau = 2: (1 - 0 + 4 - 1) / 2 = 2.
    # DAL: d' = 1, 4, 5, 6 (each at least 1/gamma = 1 after the last) -> (1 + 3 + 3 + 3) / 4.
    assert average_lagging([1, 4, 4, 4], 4) == 2
    assert differentiable_average_lagging([1, 4, 4, 4], 4) == 2.5


def test_ap_of_wait_1():
    # (1 + 2 + 3 + 4) / (4 * 4)
    assert average_proportion(wait_k(1, 4, 4), 4) == 10 / 16


def test_laal_does_not_reward_over_generation():
    # Papi et al. 2022: a hypothesis twice as long as the reference (8 words for 4) makes AL
    # with the reference's rate negative. AL, gamma = 4/4: tau = 7,
    # (1 + 0 + 0 - 1 - 1 - 2 - 2) / 7 = -5/7. LAAL, gamma = max(8, 4)/4 = 2:
    # (1 + .5 + 1 + .5 + 1 + .5 + 1) / 7 = 5.5/7.
    delays = [1, 1, 2, 2, 3, 3, 4, 4]
    assert average_lagging(delays, 4, target_length=4) == pytest.approx(-5 / 7)
    assert length_adaptive_average_lagging(delays, 4, reference_length=4) == pytest.approx(5.5 / 7)
    # Without over-generation LAAL is AL with the reference's rate.
    assert length_adaptive_average_lagging([1, 2, 3], 3, 4) == average_lagging([1, 2, 3], 3, 4)


def test_first_word_after_the_source_ends():
    # SimulEval's guard: AL and LAAL are the first delay when it exceeds |x|.
    assert average_lagging([5, 5], 3) == 5
    assert length_adaptive_average_lagging([5, 5], 3, 2) == 5


def test_normalized_erasure_counts_pieces_over_the_final_length():
    # Display "a", "a b", "a c d", final "a c d e": "b" is erased once -> 1 / 4;
    # over two texts, total erased / total final length.
    assert normalized_erasure([1], [4]) == 0.25
    assert normalized_erasure([1, 2], [4, 8]) == 0.25
    assert normalized_erasure([0], [0]) == 0.0
    with pytest.raises(ValueError):
        normalized_erasure([1], [1, 2])


def test_corpus_scores_average_sentences_and_say_how():
    sentences = [SentenceDelays([1, 2, 3], 3, 3), SentenceDelays([3, 3], 3, 2),
                 SentenceDelays([], 3, 1)]
    score = corpus_latency("AL", sentences)
    assert score.score == pytest.approx((1 + 3) / 2)
    assert (score.n_sentences, score.skipped) == (2, 1)
    assert score.signature == (
        f"AL|unit:word|src:word|len:ref|as:simuleval-1.1|version:{__version__}")
    assert signature("LAAL").split("|")[3] == "len:max(hyp,ref)"
    assert signature("DAL", use_ref_len=True).split("|")[3] == "len:hyp"
    assert signature("AP", use_ref_len=False).split("|")[3] == "len:hyp"
    assert signature("NE") == f"NE|unit:piece|version:{__version__}"
    assert score.format(1) == "AL = 2.0"


def test_empty_delays_are_an_error_for_one_sentence():
    with pytest.raises(ValueError, match="at least one target word"):
        average_lagging([], 3)
