"""Input checks and the distinct-row index the CLV models fit on.

A customer base of millions collapses to far fewer distinct (x, t_x, T) rows,
and the expensive per-row terms of the likelihoods depend on only two of the
three: (x, t_x) or (x, T). ``RfmIndex`` keeps the distinct rows with their
weights, the distinct (x, y) pairs where y is either t_x or T, and the distinct
x values, so a likelihood evaluation computes each term once at the smallest
level it depends on and combines them with gathers and ``np.bincount``.
"""

from dataclasses import dataclass

import numpy as np

_MAX_DIRECT_CODE = 2**31


def dot(matrix_or_vector: np.ndarray, vector: np.ndarray):
    """Sum of products over the last axis, without BLAS.

    ``@`` hands vectors to multithreaded OpenBLAS, whose idle threads spin; on a busy
    two-core machine that made every later call, scipy's optimizer included, 10x slower.
    """
    return np.einsum("...i,i->...", matrix_or_vector, vector)


def as_float_array(values, name: str) -> np.ndarray:
    """A 1-d float array of finite values, or a clear ``ValueError``."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_same_length(**arrays: np.ndarray) -> int:
    """The common length of the arrays; ``ValueError`` if they differ or are empty."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs have different lengths: {lengths}")
    length = next(iter(lengths.values()))
    if length == 0:
        raise ValueError("inputs are empty: at least one customer is needed")
    return length


def checked_weights(weights, length: int) -> np.ndarray:
    """Weights as floats (all ones when None); they must be non-negative and not all zero."""
    if weights is None:
        return np.ones(length)
    weights = as_float_array(weights, "weights")
    check_same_length(frequency=np.empty(length), weights=weights)
    if np.any(weights < 0):
        raise ValueError("weights must be non-negative")
    if not weights.sum() > 0:
        raise ValueError("weights sum to zero: there is nothing to fit")
    return weights


def checked_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (frequency, recency, T) float arrays, in lifetimes' conventions.

    frequency counts repeat purchases, recency is the age at the last purchase
    (0 when frequency is 0), T is the customer's age; all in the same time unit.
    """
    frequency = as_float_array(frequency, "frequency")
    recency = as_float_array(recency, "recency")
    T = as_float_array(T, "T")
    check_same_length(frequency=frequency, recency=recency, T=T)
    _check_rfm_values(frequency, recency, T)
    return frequency, recency, T


def broadcast_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) broadcast to one shape, with the checks of ``checked_rfm``.

    Predictions accept scalars and arrays alike, as lifetimes' do.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    frequency, recency, T = (np.array(a) for a in arrays)
    for name, array in (("frequency", frequency), ("recency", recency), ("T", T)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values")
    _check_rfm_values(frequency, recency, T)
    return frequency, recency, T


def _check_rfm_values(frequency, recency, T) -> None:
    if np.any(frequency < 0) or np.any(recency < 0) or np.any(T < 0):
        raise ValueError("frequency, recency and T must be non-negative")
    if np.any(recency > T):
        raise ValueError("recency is larger than T for some customers: the last purchase cannot be after today")
    if np.any((frequency == 0) & (recency != 0)):
        raise ValueError("recency must be 0 for customers with frequency 0 (no repeat purchase)")


def _column_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Non-negative integer codes for one column and how many codes there can be.

    Whole, non-negative values (counts, day numbers) are their own codes; this
    skips a sort in the common case of data summarised by day.
    """
    top = values.max()
    if values.min() >= 0 and top < _MAX_DIRECT_CODE and np.array_equal(values, np.floor(values)):
        return values.astype(np.int64), int(top) + 1
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), len(distinct)


def _renumber(key: np.ndarray, key_space: int) -> tuple[np.ndarray, int]:
    """Map keys onto 0..n_distinct-1 in key order: by a presence table when the key space
    is small (no sort), else by ``np.unique``."""
    if key_space <= max(16 * len(key), 2**20):
        present = np.zeros(key_space, dtype=bool)
        present[key] = True
        number_of = np.cumsum(present, dtype=np.int32 if key_space < 2**31 else np.int64)
        return number_of[key].astype(np.int64) - 1, int(number_of[-1])
    distinct, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1), len(distinct)


def group_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows across the columns: (a representative row of each group, group of each row).

    Columns are folded into one integer key, renumbered whenever the key space
    would grow past what a presence table (or int64) can hold.
    """
    n_rows = len(columns[0])
    key, key_space = np.zeros(n_rows, dtype=np.int64), 1
    for column in columns:
        codes, n_codes = _column_codes(column)
        if key_space * n_codes > max(16 * n_rows, 2**20):
            key, key_space = _renumber(key, key_space)
        key, key_space = key * n_codes + codes, key_space * n_codes
    group, n_groups = _renumber(key, key_space)
    representative = np.empty(n_groups, dtype=np.int64)
    representative[group] = np.arange(n_rows)
    return representative, group


@dataclass(frozen=True)
class RfmIndex:
    """Distinct (x, t_x, T) rows with their summed weights, and the levels below them.

    ``pair_x``/``pair_y`` are the distinct (x, y) pairs with y either a recency or
    an age; ``row_recency_pair``/``row_age_pair`` point each row at its pairs.
    ``x_values``/``x_weights`` are the distinct frequencies and their total weight,
    ``age_pair_weights`` the total weight of the rows at each (x, T) pair.
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    row_recency_pair: np.ndarray
    row_age_pair: np.ndarray
    pair_x: np.ndarray
    pair_y: np.ndarray
    x_values: np.ndarray
    x_weights: np.ndarray
    age_pair_weights: np.ndarray

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())

    @classmethod
    def build(cls, frequency, recency, T, weights) -> "RfmIndex":
        representative, row_of_customer = group_rows(frequency, recency, T)
        row_weights = np.bincount(row_of_customer, weights=weights, minlength=len(representative))
        keep = row_weights > 0
        if not np.all(keep):
            representative, row_weights = representative[keep], row_weights[keep]
        x, t_x, age = frequency[representative], recency[representative], T[representative]
        n_rows = len(representative)
        both_x, both_y = np.concatenate([x, x]), np.concatenate([t_x, age])
        pair_representative, pair_of = group_rows(both_x, both_y)
        pair_x, pair_y = both_x[pair_representative], both_y[pair_representative]
        row_age_pair = pair_of[n_rows:]
        x_representative, x_of_pair = group_rows(pair_x)
        x_weights = np.bincount(x_of_pair[row_age_pair], weights=row_weights, minlength=len(x_representative))
        return cls(
            frequency=x,
            recency=t_x,
            T=age,
            weights=row_weights,
            row_recency_pair=pair_of[:n_rows],
            row_age_pair=row_age_pair,
            pair_x=pair_x,
            pair_y=pair_y,
            x_values=pair_x[x_representative],
            x_weights=x_weights,
            age_pair_weights=np.bincount(row_age_pair, weights=row_weights, minlength=len(pair_x)),
        )

    def scaled(self, time_scale: float) -> "RfmIndex":
        """The same index with times divided by ``time_scale`` (fits run with max T = 1)."""
        return RfmIndex(
            **{
                **self.__dict__,
                "recency": self.recency / time_scale,
                "T": self.T / time_scale,
                "pair_y": self.pair_y / time_scale,
            }
        )

