"""Cosmic rays: events with realistic shapes, at a rate scaled by exposure time.

Three kinds of event, as seen in HST CCD images:

* spots (45%): a particle arriving nearly perpendicular to the detector,
  one to four pixels;
* tracks (40%): an oblique particle, a straight line whose projected length
  is the depletion depth times tan(incidence angle) for an isotropic flux
  (capped at 40 pixels);
* worms (15%): a low-energy electron scattering in the silicon, a curved
  path from a correlated random walk.

Each pixel on the path receives a charge drawn from a log-normal distribution
(median about 900 electrons per pixel, the signal of a minimum-ionising
particle crossing a 15 µm pixel), and 8% of it leaks to the four neighbours
(charge diffusion). The number of events is Poisson with mean
``rate [events/cm²/s] × chip area × exposure time``.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

__all__ = ["CosmicRayModel", "add_cosmic_rays"]


@attrs.frozen
class CosmicRayModel:
    """Parameters of the cosmic-ray simulation.

    Attributes
    ----------
    rate : float
        Events per cm² per second.
    pixel_size_um : float
        Pixel pitch in micrometres.
    depth_px : float
        Depletion depth in pixel units (sets track lengths).
    median_charge : float
        Median electrons per pixel on a path.
    diffusion : float
        Fraction of each pixel's charge shared among its four neighbours.
    """

    rate: float
    pixel_size_um: float
    depth_px: float = 1.0
    median_charge: float = 900.0
    diffusion: float = 0.08

    def expected_events(self, shape: tuple[int, int], exptime: float) -> float:
        """Mean number of events on a chip of ``shape`` in ``exptime`` seconds."""
        area_cm2 = shape[0] * shape[1] * (self.pixel_size_um * 1e-4) ** 2
        return self.rate * area_cm2 * exptime


def _spot(rng: np.random.Generator, x: float, y: float) -> list[tuple[int, int]]:
    size = rng.integers(1, 5)
    pixels = [(int(x), int(y))]
    while len(pixels) < size:
        px, py = pixels[rng.integers(len(pixels))]
        step = ((1, 0), (-1, 0), (0, 1), (0, -1))[rng.integers(4)]
        candidate = (px + step[0], py + step[1])
        if candidate not in pixels:
            pixels.append(candidate)
    return pixels


def _track(rng: np.random.Generator, x: float, y: float, depth: float) -> list[tuple[int, int]]:
    incidence = math.acos(rng.uniform(0.05, 1.0))  # isotropic flux through a plane
    length = min(40.0, max(1.5, depth * math.tan(incidence)))
    angle = rng.uniform(0.0, math.pi)
    steps = int(math.ceil(length * 2))
    pixels = []
    for t in np.linspace(0.0, length, steps + 1):
        pixel = (int(math.floor(x + t * math.cos(angle))), int(math.floor(y + t * math.sin(angle))))
        if not pixels or pixels[-1] != pixel:
            pixels.append(pixel)
    return list(dict.fromkeys(pixels))


def _worm(rng: np.random.Generator, x: float, y: float) -> list[tuple[int, int]]:
    angle = rng.uniform(0.0, 2.0 * math.pi)
    pixels = [(int(x), int(y))]
    px, py = x, y
    for _ in range(rng.integers(5, 21)):
        angle += rng.normal(0.0, 0.6)
        px += 0.8 * math.cos(angle)
        py += 0.8 * math.sin(angle)
        pixel = (int(math.floor(px)), int(math.floor(py)))
        if pixel != pixels[-1]:
            pixels.append(pixel)
    return list(dict.fromkeys(pixels))


def add_cosmic_rays(
    image: np.ndarray, model: CosmicRayModel, exptime: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Add cosmic rays (electrons) to an image and return their charge map.

    Parameters
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` image in electrons, modified in place.
    model : CosmicRayModel
        Rates and charges.
    exptime : float
        Seconds.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    tuple
        ``(charge, n_events)``: a float32 map of the electrons each pixel
        received from cosmic rays (0 elsewhere), and the number of events.
    """
    ny, nx = image.shape
    charge = np.zeros(image.shape, dtype=np.float64)
    n_events = int(rng.poisson(model.expected_events(image.shape, exptime))) if model.rate > 0 else 0
    kinds = rng.choice(3, size=n_events, p=(0.45, 0.40, 0.15))
    for kind in kinds:
        x, y = rng.uniform(0, nx), rng.uniform(0, ny)
        if kind == 0:
            pixels = _spot(rng, x, y)
        elif kind == 1:
            pixels = _track(rng, x, y, model.depth_px)
        else:
            pixels = _worm(rng, x, y)
        values = model.median_charge * np.exp(rng.normal(0.0, 0.5, size=len(pixels)))
        for (px, py), value in zip(pixels, values, strict=True):
            _deposit(charge, px, py, value * (1.0 - model.diffusion))
            for ddx, ddy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                _deposit(charge, px + ddx, py + ddy, value * model.diffusion / 4.0)
    image += charge
    return charge.astype(np.float32), n_events


def _deposit(charge: np.ndarray, x: int, y: int, value: float) -> None:
    if 0 <= y < charge.shape[0] and 0 <= x < charge.shape[1]:
        charge[y, x] += value
