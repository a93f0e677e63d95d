"""Lexical relevance fitted on the corpus: Okapi BM25 and TF-IDF cosine over title + abstract.

Both are plain baselines for the benchmark too. The ranker's word evidence is IDF coverage
(:meth:`LexicalIndex.coverage`): how much of a sub-interest's own IDF mass a paper contains, so
sharing "trained", "AI" and "systems" earns little and sharing "KV cache" a lot.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from digest.models import Paper

SPECIFIC_DF = 0.2  # a word in one paper of five or more says little about any one of them
K1 = 1.2  # classic Okapi defaults, not tuned here
B = 0.75
TERMS_CACHE = 100_000  # analysed words and phrases kept per corpus (a few MB at most)
# Coverage rows kept per corpus: readers share phrases ("large language models"), and a
# phrase's row was 6% of planning (bench/edition.py, 5,000 readers, py-spy). A row is 4
# bytes a paper: 16 MB at most for a 2,000-paper pool.
COVERAGE_CACHE = 2048


def paper_text(paper: Paper) -> str:
    """Title + abstract: the text every scorer reads, embeddings included."""
    return f"{paper.title}. {paper.abstract}".strip()


class LexicalIndex:
    """BM25 and TF-IDF models over one corpus; queries are scored against all papers at once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._n = len(texts)
        self._doc_terms: dict[int, frozenset[str]] = {}
        self.memo: dict[str, Any] = {}  # per-corpus caches of callers (reasons.reader_words)
        self._terms: dict[str, list[str]] = {}
        self._coverage: dict[tuple[str, frozenset[str]], np.ndarray] = {}
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
        self._present = sparse.csr_matrix(
            (np.ones_like(tf.data), tf.indices, tf.indptr), shape=tf.shape
        ).T.tocsr()  # (vocab, papers): which papers contain each term
        self._analyze = self._count.build_analyzer()
        # A word no paper uses is as specific as a word in one paper can be (df = 0): it
        # stays in the profile's IDF mass, so no paper covers the reader's whole phrase.
        self._unseen_idf = float(np.log1p((self._n + 0.5) / 0.5))
        self.vocabulary: dict[str, int] = self._count.vocabulary_
        self._names = self._count.get_feature_names_out()
        df_max = max(self._n * SPECIFIC_DF, 1.0)
        # IDF at and above which a term is specific to few papers (for reasons, not scores).
        self.specific_idf = float(np.log1p((self._n - df_max + 0.5) / (df_max + 0.5)))

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

    def terms(self, text: str) -> list[str]:
        """The distinct index terms of ``text`` (lower case, English stop words dropped)."""
        if self.empty:
            return []
        found = self._terms.get(text)
        if found is None:
            found = list(dict.fromkeys(self._analyze(text)))
            if len(self._terms) < TERMS_CACHE:  # readers' words repeat; a bound keeps it small
                self._terms[text] = found
        return list(found)

    def idf_of(self, term: str) -> float:
        """BM25 IDF of ``term`` in this corpus (a word no paper uses gets the df = 0 value)."""
        j = self.vocabulary.get(term) if not self.empty else None
        return float(self.idf[j]) if j is not None else self._unseen_idf

    def coverage(self, texts: Sequence[str], ignore: Collection[str] = ()) -> np.ndarray:
        """Share of each text's IDF mass that each paper contains, shape (len(texts), papers).

        Terms in ``ignore`` (a sign-up form's filler: "like", "interested") count for nothing.

        1.0 when a paper holds every term of a text, ~0 when it shares only words most papers
        use; a text with no index terms covers nothing. Measured on the judged sets (issue 17):
        the old bonus, the best BM25 match always getting the full weight, gave a paper that
        shared "trained", "AI" and "systems" as much as one that shared the reader's topic.
        """
        out = np.zeros((len(texts), self._n), dtype=np.float32)
        skip = frozenset(ignore)
        for row, text in enumerate(texts):
            known_row = self._coverage.get((text, skip))
            if known_row is not None:
                out[row] = known_row
                continue
            self._cover(out, row, text, skip)
            if len(self._coverage) < COVERAGE_CACHE:
                self._coverage[(text, skip)] = out[row].copy()
        return out

    def _cover(self, out: np.ndarray, row: int, text: str, ignore: frozenset[str]) -> None:
        """Fill ``out[row]`` with ``text``'s coverage of each paper (see :meth:`coverage`)."""
        terms = [t for t in self.terms(text) if t not in ignore]
        mass = sum(self.idf_of(t) for t in terms)
        known = [self.vocabulary[t] for t in terms if t in self.vocabulary]
        if mass <= 0 or not known:
            return
        # Each known term's papers straight from the (vocab, papers) CSR rows: a sparse
        # row slice and product per phrase cost ~0.3 ms, this ~10 us a term (issue 20).
        indptr, indices = self._present.indptr, self._present.indices
        for j in known:
            out[row, indices[indptr[j]:indptr[j + 1]]] += self.idf[j]
        out[row] /= mass

    def doc_terms(self, doc: int) -> frozenset[str]:
        """The index terms paper ``doc`` contains (kept per paper: every reader whose digest
        picks it asks again; 0.09 ms a call from the sparse row, issue 20)."""
        if self.empty:
            return frozenset()
        found = self._doc_terms.get(doc)
        if found is None:
            start, end = self._bm25.indptr[doc], self._bm25.indptr[doc + 1]
            found = self._doc_terms[doc] = frozenset(
                str(self._names[j]) for j in self._bm25.indices[start:end])
        return found

    def shared_terms(self, query: str, doc: int, limit: int = 4) -> list[str]:
        """Query terms that occur in paper ``doc``, rarest (most telling) first."""
        if self.empty:
            return []
        q = self.query_terms([query])
        row = self._bm25.getrow(doc)
        common = np.intersect1d(q.indices, row.indices)
        names = self._names
        order = np.argsort(-self.idf[common], kind="stable")
        return [str(names[common[i]]) for i in order[:limit]]
