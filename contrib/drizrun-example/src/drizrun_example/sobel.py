"""A Sobel gradient-magnitude derivative kernel in NumPy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def sobel_deriv(image: ArrayLike) -> NDArray[np.float32]:
    """Return the Sobel gradient magnitude of an image.

    Edges are handled by repeating the border pixels, so a constant image
    gives zero everywhere.

    Parameters
    ----------
    image : array_like
        2-D image of any real dtype and byte order.

    Returns
    -------
    ndarray of float32
        Same shape as ``image``.

    Raises
    ------
    ValueError
        If ``image`` is not a non-empty 2-D array.
    """
    data = np.asarray(image)
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"expected a non-empty 2-D image of shape (ny, nx), got shape {data.shape}")
    padded = np.pad(data.astype(np.float64), 1, mode="edge")
    gx = (
        padded[:-2, 2:]
        + 2 * padded[1:-1, 2:]
        + padded[2:, 2:]
        - padded[:-2, :-2]
        - 2 * padded[1:-1, :-2]
        - padded[2:, :-2]
    )
    gy = (
        padded[2:, :-2]
        + 2 * padded[2:, 1:-1]
        + padded[2:, 2:]
        - padded[:-2, :-2]
        - 2 * padded[:-2, 1:-1]
        - padded[:-2, 2:]
    )
    return (np.hypot(gx, gy) / 8.0).astype(np.float32)
