"""Built-in detector geometry: the simulator's distortion without external files.

Reference pixels, CD matrices (in the local frame where the first chip's y
axis points north), chip offsets and SIP terms up to third order, rounded to
five significant figures, as measured with
:meth:`~.distortion.DetectorGeometry.from_header` from real exposures:
WFC3/UVIS ib4606c6q, WFC3/IR ib4606cpq, ACS/WFC jbt122x8q, ACS/HRC j8bt06nyq.
Third order reproduces the full models to about a pixel at the far corners
of the large CCDs; ``tests/simulate`` checks this against the real headers.

ACS/SBC has no real header among the references: its entry uses the nominal
0.034" x 0.030" pixel and illustrative quadratic terms (about half a pixel at
the corners).
"""

from __future__ import annotations

from .distortion import ChipGeometry, DetectorGeometry

__all__ = ["BUILTIN_GEOMETRY", "builtin_geometry"]


def _chip(
    extver: int,
    ccdchip: int | None,
    shape: tuple[int, int],
    *,
    crpix: tuple[float, float],
    cd: tuple[tuple[float, float], tuple[float, float]],
    offset: tuple[float, float],
    a: dict[tuple[int, int], float],
    b: dict[tuple[int, int], float],
) -> ChipGeometry:
    return ChipGeometry(
        extver=extver, ccdchip=ccdchip, full_shape=shape, crpix=crpix, cd=cd, offset=offset, sip_a=a, sip_b=b
    )


BUILTIN_GEOMETRY: dict[str, tuple[ChipGeometry, ...]] = {
    "WFC3/UVIS": (
        _chip(
            1,
            2,
            (2051, 4096),
            crpix=(2048.0, 1026.0),
            cd=((-1.1046e-05, 0.0), (6.9767e-07, 1.1066e-05)),
            offset=(-1.5257e-05, -0.011451),
            a={
                (0, 2): 9.6875e-08,
                (0, 3): 1.8398e-11,
                (1, 1): -3.0073e-06,
                (1, 2): 1.5217e-11,
                (2, 0): 2.9308e-06,
                (2, 1): -1.2617e-11,
                (3, 0): 3.0558e-11,
            },
            b={
                (0, 2): -3.1182e-06,
                (0, 3): 1.4927e-11,
                (1, 1): 2.8147e-06,
                (1, 2): -5.0795e-12,
                (2, 0): -5.8319e-08,
                (2, 1): 1.029e-11,
                (3, 0): 1.8012e-13,
            },
        ),
        _chip(
            2,
            1,
            (2051, 4096),
            crpix=(2048.0, 1026.0),
            cd=((-1.0979e-05, 2.0421e-08), (7.7309e-07, 1.0935e-05)),
            offset=(1.5257e-05, 0.011451),
            a={
                (0, 2): -1.6301e-08,
                (0, 3): -1.0712e-13,
                (1, 1): -2.8946e-06,
                (1, 2): 1.6617e-11,
                (2, 0): 2.881e-06,
                (2, 1): -5.1077e-12,
                (3, 0): 2.5027e-11,
            },
            b={
                (0, 2): -2.8811e-06,
                (0, 3): 4.066e-11,
                (1, 1): 2.8293e-06,
                (1, 2): -4.0593e-12,
                (2, 0): -8.5296e-10,
                (2, 1): 9.7639e-13,
                (3, 0): 1.0934e-11,
            },
        ),
    ),
    "WFC3/IR": (
        _chip(
            1,
            None,
            (1014, 1014),
            crpix=(507.0, 507.0),
            cd=((-3.761e-05, 0.0), (1.2319e-07, 3.3595e-05)),
            offset=(0.0, 0.0),
            a={
                (0, 2): 5.3654e-08,
                (0, 3): 3.5761e-11,
                (1, 1): 2.4457e-05,
                (1, 2): 5.9998e-11,
                (2, 0): -1.9768e-07,
                (2, 1): 1.1243e-10,
                (3, 0): -1.4547e-10,
            },
            b={
                (0, 2): 3.0021e-05,
                (0, 3): -1.6774e-10,
                (1, 1): -1.747e-07,
                (1, 2): 4.2655e-11,
                (2, 0): 6.9803e-06,
                (2, 1): -2.6339e-10,
                (3, 0): 5.3154e-11,
            },
        ),
    ),
    "ACS/WFC": (
        _chip(
            1,
            2,
            (2048, 4096),
            crpix=(2048.0, 1024.0),
            cd=((-1.3814e-05, 0.0), (9.554e-07, 1.3975e-05)),
            offset=(2.3981e-05, -0.014441),
            a={
                (0, 2): 2.1664e-06,
                (0, 3): 5.603e-12,
                (1, 1): -5.2138e-06,
                (1, 2): -5.1969e-10,
                (2, 0): 8.5549e-06,
                (2, 1): -2.7063e-11,
                (3, 0): -4.92e-10,
            },
            b={
                (0, 2): -7.2361e-06,
                (0, 3): -3.7882e-10,
                (1, 1): 6.1881e-06,
                (1, 2): -7.5271e-11,
                (2, 0): -1.7414e-06,
                (2, 1): -5.1652e-10,
                (3, 0): 1.0054e-10,
            },
        ),
        _chip(
            2,
            1,
            (2048, 4096),
            crpix=(2048.0, 1024.0),
            cd=((-1.3638e-05, -9.1529e-08), (1.1385e-06, 1.3509e-05)),
            offset=(-2.3981e-05, 0.014441),
            a={
                (0, 2): 2.2637e-06,
                (0, 3): 8.8103e-11,
                (1, 1): -7.5301e-06,
                (1, 2): -5.0112e-10,
                (2, 0): 8.5233e-06,
                (2, 1): -1.067e-10,
                (3, 0): -4.8987e-10,
            },
            b={
                (0, 2): -9.7939e-06,
                (0, 3): -3.7494e-10,
                (1, 1): 6.4564e-06,
                (1, 2): -3.7711e-11,
                (2, 0): -2.9514e-06,
                (2, 1): -4.0888e-10,
                (3, 0): 1.1441e-10,
            },
        ),
    ),
    "ACS/HRC": (
        _chip(
            1,
            None,
            (1024, 1024),
            crpix=(512.0, 512.0),
            cd=((-7.8573e-06, 0.0), (7.9842e-07, 6.9012e-06)),
            offset=(0.0, 0.0),
            a={
                (0, 2): -7.0889e-07,
                (0, 3): -1.8815e-11,
                (1, 1): 9.0187e-06,
                (1, 2): 4.101e-10,
                (2, 0): -3.3164e-06,
                (2, 1): -2.924e-11,
                (3, 0): 9.6577e-11,
            },
            b={
                (0, 2): 1.1508e-05,
                (0, 3): 7.3589e-10,
                (1, 1): -2.6697e-06,
                (1, 2): -6.3116e-10,
                (2, 0): 2.0006e-06,
                (2, 1): 3.0207e-10,
                (3, 0): 4.4876e-10,
            },
        ),
    ),
    "ACS/SBC": (
        _chip(
            1,
            None,
            (1024, 1024),
            crpix=(512.0, 512.0),
            cd=((-9.4444e-06, 0.0), (2.0e-07, 8.3333e-06)),
            offset=(0.0, 0.0),
            a={(2, 0): 1.5e-06, (1, 1): -1.0e-06, (0, 2): 5.0e-07},
            b={(2, 0): -5.0e-07, (1, 1): 1.2e-06, (0, 2): -1.5e-06},
        ),
    ),
}


def builtin_geometry(name: str) -> DetectorGeometry:
    """Return the built-in geometry of an instrument name (``KeyError`` if unknown)."""
    return DetectorGeometry(name=name, chips=BUILTIN_GEOMETRY[name], source="built-in")
