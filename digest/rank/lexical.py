"""Lexical relevance fitted on the corpus: Okapi BM25 and TF-IDF cosine over title + abstract.

Both are plain baselines for the benchmark too; the ranker uses BM25 as a bounded tie-breaker
and TF-IDF weights to say which terms matched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from digest.models import Paper

K1 = 1.2  # classic Okapi defaults, not tuned here
B = 0.75


def paper_text(paper: Paper) -> str:
    """Title + abstract: the text every scorer reads, embeddings included."""
    return f"{paper.title}. {paper.abstract}".strip()


class LexicalIndex:
    """BM25 and TF-IDF models over one corpus; queries are scored against all papers at once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._n = len(texts)
        docs = list(texts) or [""]
        self._count = CountVectorizer(stop_words="english", lowercase=True)
        self._tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        try:
            tf = self._count.fit_transform(docs).tocsr().astype(np.float32)
            self._doc_tfidf = self._tfidf.fit_transform(docs).tocsr()
        except ValueError:  # empty vocabulary: nothing but stop words
            self._count = self._tfidf = None
            return
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        self.idf = np.log1p((self._n - df + 0.5) / (df + 0.5)).astype(np.float32)
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        norm = K1 * (1 - B + B * lengths / max(lengths.mean(), 1e-9))
        # Precompute each (doc, term) BM25 contribution so a query is one sparse product.
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        data = tf.data * (K1 + 1) / (tf.data + norm[rows]) * self.idf[tf.indices]
        self._bm25 = sparse.csr_matrix((data, tf.indices, tf.indptr), shape=tf.shape)
        self.vocabulary: dict[str, int] = self._count.vocabulary_

    @property
    def bm25_matrix(self) -> sparse.csr_matrix:
        """(papers, vocab) BM25 contribution of each term to each paper, for batch ranking."""
        return self._bm25

    @property
    def empty(self) -> bool:
        return self._count is None or self._n == 0

    def query_terms(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Binary bag of known query terms, one row per query."""
        if self.empty:
            return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
        q = self._count.transform(list(texts)).tocsr().astype(np.float32)
        q.data[:] = 1.0  # a term repeated in a profile should not count twice
        return q

    def bm25(self, texts: Sequence[str]) -> np.ndarray:
        """BM25 scores, shape (len(texts), n_papers)."""
        if self.empty:
            return np.zeros((len(texts), self._n), dtype=np.float32)
        return np.asarray((self.query_terms(texts) @ self._bm25.T).todense(), dtype=np.float32)

    def tfidf(self, texts: Sequence[str]) -> np.ndarray:
        """TF-IDF cosine similarities, shape (len(texts), n_papers)."""
        if self.empty:
            return np.zeros((len(texts), self._n), dtype=np.float32)
        q = self._tfidf.transform(list(texts))
        return np.asarray((q @ self._doc_tfidf.T).todense(), dtype=np.float32)

    def shared_terms(self, query: str, doc: int, limit: int = 4) -> list[str]:
        """Query terms that occur in paper ``doc``, rarest (most telling) first."""
        if self.empty:
            return []
        q = self.query_terms([query])
        row = self._bm25.getrow(doc)
        common = np.intersect1d(q.indices, row.indices)
        names = self._count.get_feature_names_out()
        order = np.argsort(-self.idf[common], kind="stable")
        return [str(names[common[i]]) for i in order[:limit]]
