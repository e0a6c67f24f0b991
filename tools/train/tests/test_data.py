"""Data generators: each against an independent fact (calculus, exact solutions, invariants)."""

import numpy as np
from numpy.polynomial import chebyshev as cheb

from hdon_train import data


def test_antiderivative_differentiates_back():
    rng = np.random.default_rng(0)
    c = data.chebyshev_coefficients(rng, 5)
    big = data.antiderivative_coefficients(c)
    np.testing.assert_allclose(cheb.chebder(big, axis=1), c, atol=1e-14)
    # U(-1) = 0, and a centred finite difference of U matches u
    x = np.linspace(-0.99, 0.99, 50)
    h = 1e-5
    fd = (data.chebyshev_values(big, x + h) - data.chebyshev_values(big, x - h)) / (2 * h)
    np.testing.assert_allclose(fd, data.chebyshev_values(c, x), atol=1e-5)
    np.testing.assert_allclose(data.chebyshev_values(big, np.array([-1.0])), 0.0, atol=1e-14)


def test_chebyshev_sets():
    ds = data.make_chebyshev("identity", 3, m=30, n_points=30, n_train=20, n_test=5)
    assert ds.u_train.shape == (20, 30) and ds.v_train.shape == (20, 30, 1)
    # identity on equal grids: output = input
    np.testing.assert_allclose(ds.v_train[:, :, 0], ds.u_train, atol=1e-6)
    # values bounded by sum |c_l| <= 20/4
    assert np.abs(ds.u_train).max() <= 5.0
    dd = data.make_chebyshev("differentiation", 3, m=2001, n_points=2001, n_train=4, n_test=1)
    x = dd.sensors_x
    du = np.gradient(dd.u_train.astype(np.float64), x, axis=1)
    np.testing.assert_allclose(du[:, 100:-100], dd.v_train[:, 100:-100, 0], atol=1e-2)
    np.testing.assert_allclose(dd.u_train[:, 0], 0.0, atol=1e-6)  # u(-1) = 0


def test_seeded():
    a = data.make_advection(7, n_train=10, n_test=3)
    b = data.make_advection(7, n_train=10, n_test=3)
    c = data.make_advection(8, n_train=10, n_test=3)
    np.testing.assert_array_equal(a.u_train, b.u_train)
    assert not np.array_equal(a.u_train, c.u_train)


def test_advection_exact_shift():
    ds = data.make_advection(1, m=40, n_train=50, n_test=10)
    # t = 0.5 on the grid i/40 is a shift by 20 cells
    np.testing.assert_array_equal(ds.v_train[:, :, 0], np.roll(ds.u_train, 20, axis=1))
    # the square wave: values are 0 or h in [1, 2], width b in [0.3, 0.6]
    nz = ds.u_train[ds.u_train != 0]
    assert nz.min() >= 1.0 and nz.max() <= 2.0
    widths = (ds.u_train != 0).sum(axis=1) / 40
    assert widths.min() >= 0.3 - 1 / 40 and widths.max() <= 0.6 + 1 / 40
    # a full period brings w0 back; the shift is periodic
    x = np.linspace(0, 1, 97, endpoint=False)
    c, b, h = np.array([0.65]), np.array([0.5]), np.array([1.5])
    np.testing.assert_array_equal(data.advect_exact(x, c, b, h, 1.0), data.square_wave(x, c, b, h))


def test_grf_variance():
    rng = np.random.default_rng(0)
    w = data.grf_periodic(rng, 4000, 64, **data.GRF)
    k = np.arange(1, 32)
    var = np.sum(2 * data.GRF["sigma"] ** 2 * ((2 * np.pi * k) ** 2 + data.GRF["tau"] ** 2) ** -2)
    assert abs(w.var() / var - 1) < 0.05
    np.testing.assert_allclose(w.mean(axis=1), 0.0, atol=1e-12)  # no constant mode


def cole_hopf(amp, nu, t, x, n_fine=4096):
    """Exact viscous Burgers solution for w0 = amp sin(2 pi x): w = -2 nu phi_x / phi, phi the
    heat solution from phi0 = exp(-(1/2nu) int_0^x w0) (smooth, periodic: exact in Fourier)."""
    xf = np.arange(n_fine) / n_fine
    phi0 = np.exp(-amp * (1 - np.cos(2 * np.pi * xf)) / (4 * np.pi * nu))
    k = 2 * np.pi * np.fft.rfftfreq(n_fine, 1 / n_fine)
    ph = np.fft.rfft(phi0) * np.exp(-nu * k**2 * t)
    phi = np.fft.irfft(ph, n_fine)
    phix = np.fft.irfft(1j * k * ph, n_fine)
    w = -2 * nu * phix / phi
    return w[:: n_fine // x.size]


def test_burgers_matches_cole_hopf():
    n, nu, t = 256, 0.1, 0.5
    x = np.arange(n) / n
    w0 = np.sin(2 * np.pi * x)
    w = data.BurgersETDRK4(n, nu, 1e-3).solve(w0[None], t)[0]
    ref = cole_hopf(1.0, nu, t, x)
    np.testing.assert_allclose(w, ref, atol=1e-7)
    # a steep case (small viscosity x time would shock): nu = 0.02 at t = 0.2, still smooth
    x = np.arange(1024) / 1024
    w = data.BurgersETDRK4(1024, 0.02, 2e-4).solve(np.sin(2 * np.pi * x)[None], 0.2)[0]
    ref = cole_hopf(1.0, 0.02, 0.2, np.arange(1024) / 1024, n_fine=8192)
    np.testing.assert_allclose(w, ref, atol=1e-6)


def test_burgers_conserves_mean():
    rng = np.random.default_rng(1)
    w0 = data.grf_periodic(rng, 4, 256, **data.GRF) + np.array([[0.0], [0.3], [-1.0], [2.0]])
    w = data.BurgersETDRK4(256, 0.1, 1e-3).solve(w0, 0.3)
    np.testing.assert_allclose(w.mean(axis=1), w0.mean(axis=1), atol=1e-12)
    assert np.isfinite(w).all()
    # viscosity only removes energy
    assert (np.sum((w - w.mean(1, keepdims=True)) ** 2, 1) < np.sum((w0 - w0.mean(1, keepdims=True)) ** 2, 1)).all()


def test_burgers_dataset_is_converged():
    """The shipped resolution (512 points, dt 1/2000) against a 2x finer solve."""
    rng = np.random.default_rng(2)
    w0 = data.grf_periodic(rng, 3, 512, **data.GRF)
    w0f = np.fft.irfft(np.fft.rfft(w0, axis=1) * 2, n=1024, axis=1)  # same modes, finer grid
    coarse = data.BurgersETDRK4(512, data.BURGERS_NU, data.BURGERS_DT).solve(w0, 1.0)
    fine = data.BurgersETDRK4(1024, data.BURGERS_NU, data.BURGERS_DT / 2).solve(w0f, 1.0)
    err = np.linalg.norm(coarse - fine[:, ::2], axis=1) / np.linalg.norm(fine[:, ::2], axis=1)
    assert err.max() < 1e-4, err
