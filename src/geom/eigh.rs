//! Symmetric 3x3 eigen-decomposition that follows LAPACK's `dsyevd` path for small
//! matrices (`dsytd2` lower, `dsteqr`, `dormtr`), the routine behind `numpy.linalg.eigh`.
//!
//! Why not nalgebra: IoU_best tries only 4 of the 8 sign patterns of the principal axes,
//! so its value depends on the signs numpy's LAPACK happens to give each eigenvector.
//! Reproducing the same sequence of reflections and rotations reproduces those signs.
//! (An algorithmic port of reference LAPACK, BSD licence.)

const EPS: f64 = f64::EPSILON * 0.5; // dlamch('E'): relative machine precision
const SAFMIN: f64 = f64::MIN_POSITIVE;

/// Eigenvalues ascending and eigenvectors as the columns of `vectors` (`vectors[row][col]`),
/// using only the lower triangle of `a`, as numpy's default `UPLO='L'`.
pub fn eigh(a: [[f64; 3]; 3]) -> ([f64; 3], [[f64; 3]; 3]) {
    // dsytd2 (lower): one Householder reflector H = I - tau v vᵀ, v = (0, 1, v2),
    // annihilates a[2][0]; the second reflector of a 3x3 is always the identity.
    let (mut a11, mut a21, mut a22) = (a[1][1], a[2][1], a[2][2]);
    let alpha = a[1][0];
    let xnorm = a[2][0].abs();
    let (tau, v2, e0) = if xnorm == 0.0 {
        (0.0, 0.0, alpha)
    } else {
        let beta = -sign(hypot(alpha, xnorm), alpha);
        let tau = (beta - alpha) / beta;
        let v2 = a[2][0] * (1.0 / (alpha - beta));
        // y = tau A22 v ; w = y - tau/2 (yᵀv) v ; A22 -= v wᵀ + w vᵀ
        let y1 = tau * (a11 + a21 * v2);
        let y2 = tau * (a21 + a22 * v2);
        let alpha2 = -0.5 * tau * (y1 + y2 * v2);
        let (w1, w2) = (y1 + alpha2, y2 + alpha2 * v2);
        a11 += -w1 - w1;
        a21 += v2 * -w1 - w2;
        a22 += v2 * -w2 + w2 * -v2;
        (tau, v2, beta)
    };
    // 1-based arrays as in dsteqr; index 0 unused.
    let mut d = [0.0, a[0][0], a11, a22];
    let mut e = [0.0, e0, a21, 0.0];
    let mut z = [[0.0; 4]; 4];
    for (i, row) in z.iter_mut().enumerate().skip(1) {
        row[i] = 1.0;
    }
    steqr(&mut d, &mut e, &mut z);
    // dormtr: vectors = Q z, Q = H applied to rows 2..3.
    if tau != 0.0 {
        let (top, bottom) = z.split_at_mut(3);
        for (z2, z3) in top[2].iter_mut().zip(bottom[0].iter_mut()).skip(1) {
            let s = *z2 + v2 * *z3;
            *z2 -= tau * s;
            *z3 -= tau * v2 * s;
        }
    }
    let mut vectors = [[0.0; 3]; 3];
    for (r, row) in vectors.iter_mut().enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            *x = z[r + 1][c + 1];
        }
    }
    ([d[1], d[2], d[3]], vectors)
}

/// Fortran SIGN(a, b): |a| with the sign of b.
fn sign(a: f64, b: f64) -> f64 {
    if b >= 0.0 {
        a.abs()
    } else {
        -a.abs()
    }
}

fn hypot(x: f64, y: f64) -> f64 {
    let (xa, ya) = (x.abs(), y.abs());
    let (w, zz) = (xa.max(ya), xa.min(ya));
    if zz == 0.0 || w > f64::MAX {
        w
    } else {
        w * (1.0 + (zz / w) * (zz / w)).sqrt()
    }
}

/// dlartg (LAPACK >= 3.10): plane rotation with c >= 0 and r carrying the sign of f.
fn lartg(f: f64, g: f64) -> (f64, f64, f64) {
    if g == 0.0 {
        (1.0, 0.0, f)
    } else if f == 0.0 {
        (0.0, sign(1.0, g), g.abs())
    } else {
        let d = (f * f + g * g).sqrt();
        let c = f.abs() / d;
        let r = sign(d, f);
        (c, g / r, r)
    }
}

/// dlaev2: eigensystem of [[a, b], [b, c]]; (rt1, rt2, cs1, sn1) with (cs1, sn1) the
/// eigenvector of rt1, the eigenvalue of larger absolute value.
fn laev2(a: f64, b: f64, c: f64) -> (f64, f64, f64, f64) {
    let sm = a + c;
    let df = a - c;
    let adf = df.abs();
    let tb = b + b;
    let ab = tb.abs();
    let (acmx, acmn) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let rt = if adf > ab {
        adf * (1.0 + (ab / adf).powi(2)).sqrt()
    } else if adf < ab {
        ab * (1.0 + (adf / ab).powi(2)).sqrt()
    } else {
        ab * 2f64.sqrt()
    };
    let (rt1, rt2, sgn1) = if sm < 0.0 {
        let rt1 = 0.5 * (sm - rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b, -1)
    } else if sm > 0.0 {
        let rt1 = 0.5 * (sm + rt);
        (rt1, (acmx / rt1) * acmn - (b / rt1) * b, 1)
    } else {
        (0.5 * rt, -0.5 * rt, 1)
    };
    let (cs, sgn2) = if df >= 0.0 {
        (df + rt, 1)
    } else {
        (df - rt, -1)
    };
    let (mut cs1, mut sn1);
    if cs.abs() > ab {
        let ct = -tb / cs;
        sn1 = 1.0 / (1.0 + ct * ct).sqrt();
        cs1 = ct * sn1;
    } else if ab == 0.0 {
        cs1 = 1.0;
        sn1 = 0.0;
    } else {
        let tn = -cs / tb;
        cs1 = 1.0 / (1.0 + tn * tn).sqrt();
        sn1 = tn * cs1;
    }
    if sgn1 == sgn2 {
        let tn = cs1;
        cs1 = -sn1;
        sn1 = tn;
    }
    (rt1, rt2, cs1, sn1)
}

/// dlasr('R', 'V', forward?, ...): apply the rotations (c[j], s[j]) to column pairs
/// (col0+j, col0+j+1) of z, j = 0..count-1.
fn lasr(forward: bool, c: &[f64], s: &[f64], z: &mut [[f64; 4]; 4], col0: usize, count: usize) {
    let mut apply = |j: usize| {
        let (ct, st) = (c[j], s[j]);
        if ct != 1.0 || st != 0.0 {
            for row in z.iter_mut().skip(1) {
                let temp = row[col0 + j + 1];
                row[col0 + j + 1] = ct * temp - st * row[col0 + j];
                row[col0 + j] = st * temp + ct * row[col0 + j];
            }
        }
    };
    if forward {
        (0..count).for_each(&mut apply);
    } else {
        (0..count).rev().for_each(&mut apply);
    }
}

/// dsteqr with COMPZ='I' on a 3x3 tridiagonal (d, e), 1-based; z starts as the identity.
fn steqr(d: &mut [f64; 4], e: &mut [f64; 4], z: &mut [[f64; 4]; 4]) {
    const N: isize = 3;
    let eps2 = EPS * EPS;
    let nmaxit = N * 30;
    let mut jtot = 0;
    let mut work_c = [0.0; 4];
    let mut work_s = [0.0; 4];
    let ix = |i: isize| i as usize;
    let mut l1: isize = 1;
    'blocks: while l1 <= N {
        if l1 > 1 {
            e[ix(l1 - 1)] = 0.0;
        }
        let mut m = N;
        for mm in l1..N {
            let tst = e[ix(mm)].abs();
            if tst == 0.0 {
                m = mm;
                break;
            }
            if tst <= (d[ix(mm)].abs().sqrt() * d[ix(mm + 1)].abs().sqrt()) * EPS {
                e[ix(mm)] = 0.0;
                m = mm;
                break;
            }
        }
        let mut l = l1;
        let (lsv, lendsv) = (l, m);
        let mut lend = m;
        l1 = m + 1;
        if lend == l {
            continue;
        }
        let anorm = (l..=lend)
            .map(|i| d[ix(i)].abs())
            .chain((l..lend).map(|i| e[ix(i)].abs()))
            .fold(0.0, f64::max);
        if anorm == 0.0 {
            continue;
        }
        if d[ix(lend)].abs() < d[ix(l)].abs() {
            lend = lsv;
            l = lendsv;
        }
        if lend > l {
            // QL iteration
            loop {
                let mut m = lend;
                for mm in l..lend {
                    let tst = e[ix(mm)].powi(2);
                    if tst <= (eps2 * d[ix(mm)].abs()) * d[ix(mm + 1)].abs() + SAFMIN {
                        m = mm;
                        break;
                    }
                }
                if m < lend {
                    e[ix(m)] = 0.0;
                }
                let mut p = d[ix(l)];
                if m == l {
                    d[ix(l)] = p;
                    l += 1;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if m == l + 1 {
                    let (rt1, rt2, c, s) = laev2(d[ix(l)], e[ix(l)], d[ix(l + 1)]);
                    lasr(false, &[c], &[s], z, ix(l), 1);
                    d[ix(l)] = rt1;
                    d[ix(l + 1)] = rt2;
                    e[ix(l)] = 0.0;
                    l += 2;
                    if l <= lend {
                        continue;
                    }
                    break;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let mut g = (d[ix(l + 1)] - p) / (2.0 * e[ix(l)]);
                let mut r = hypot(g, 1.0);
                g = d[ix(m)] - p + (e[ix(l)] / (g + sign(r, g)));
                let (mut s, mut c) = (1.0, 1.0);
                p = 0.0;
                for i in (l..m).rev() {
                    let f = s * e[ix(i)];
                    let b = c * e[ix(i)];
                    (c, s, r) = lartg(g, f);
                    if i != m - 1 {
                        e[ix(i + 1)] = r;
                    }
                    g = d[ix(i + 1)] - p;
                    r = (d[ix(i)] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[ix(i + 1)] = g + p;
                    g = c * r - b;
                    work_c[ix(i - l)] = c;
                    work_s[ix(i - l)] = -s;
                }
                lasr(false, &work_c, &work_s, z, ix(l), ix(m - l));
                d[ix(l)] -= p;
                e[ix(l)] = g;
            }
        } else {
            // QR iteration
            loop {
                let mut m = lend;
                let mut mm = l;
                while mm > lend {
                    let tst = e[ix(mm - 1)].powi(2);
                    if tst <= (eps2 * d[ix(mm)].abs()) * d[ix(mm - 1)].abs() + SAFMIN {
                        m = mm;
                        break;
                    }
                    mm -= 1;
                }
                if m > lend {
                    e[ix(m - 1)] = 0.0;
                }
                let mut p = d[ix(l)];
                if m == l {
                    d[ix(l)] = p;
                    l -= 1;
                    if l >= lend {
                        continue;
                    }
                    break;
                }
                if m == l - 1 {
                    let (rt1, rt2, c, s) = laev2(d[ix(l - 1)], e[ix(l - 1)], d[ix(l)]);
                    lasr(true, &[c], &[s], z, ix(l - 1), 1);
                    d[ix(l - 1)] = rt1;
                    d[ix(l)] = rt2;
                    e[ix(l - 1)] = 0.0;
                    l -= 2;
                    if l >= lend {
                        continue;
                    }
                    break;
                }
                if jtot == nmaxit {
                    break;
                }
                jtot += 1;
                let mut g = (d[ix(l - 1)] - p) / (2.0 * e[ix(l - 1)]);
                let mut r = hypot(g, 1.0);
                g = d[ix(m)] - p + (e[ix(l - 1)] / (g + sign(r, g)));
                let (mut s, mut c) = (1.0, 1.0);
                p = 0.0;
                for i in m..l {
                    let f = s * e[ix(i)];
                    let b = c * e[ix(i)];
                    (c, s, r) = lartg(g, f);
                    if i != m {
                        e[ix(i - 1)] = r;
                    }
                    g = d[ix(i)] - p;
                    r = (d[ix(i + 1)] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[ix(i)] = g + p;
                    g = c * r - b;
                    work_c[ix(i - m)] = c;
                    work_s[ix(i - m)] = s;
                }
                lasr(true, &work_c, &work_s, z, ix(m), ix(l - m));
                d[ix(l)] -= p;
                e[ix(l - 1)] = g;
            }
        }
        if jtot >= nmaxit {
            break 'blocks;
        }
    }
    // Selection sort, ascending, swapping eigenvector columns.
    for i in 1..3 {
        let mut k = i;
        let mut p = d[i];
        for (j, &dj) in d.iter().enumerate().skip(i + 1) {
            if dj < p {
                k = j;
                p = dj;
            }
        }
        if k != i {
            d[k] = d[i];
            d[i] = p;
            for row in z.iter_mut() {
                row.swap(i, k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: [[f64; 3]; 3]) {
        let (w, v) = eigh(a);
        assert!(w[0] <= w[1] && w[1] <= w[2], "{w:?}");
        for k in 0..3 {
            for r in 0..3 {
                let av: f64 = (0..3).map(|c| a[r][c] * v[c][k]).sum();
                assert!((av - w[k] * v[r][k]).abs() < 1e-9, "A v != w v for {a:?}");
            }
        }
    }

    #[test]
    fn decomposes_symmetric_matrices() {
        check([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]]);
        check([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]]);
        check([[1.0, 0.0, 0.3], [0.0, 1.0, 0.0], [0.3, 0.0, 2.0]]);
        check([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]);
    }

    #[test]
    fn matches_numpy_eigenvector_signs() {
        for (a, numpy) in CASES {
            check(a);
            let (_, v) = eigh(a);
            for r in 0..3 {
                for c in 0..3 {
                    assert!(
                        (v[r][c] - numpy[r][c]).abs() < 1e-9,
                        "{a:?}: {v:?} vs numpy {numpy:?}"
                    );
                }
            }
        }
    }

    // numpy 2.x (OpenBLAS 0.3.31) `np.linalg.eigh(a)[1]` for random symmetric matrices.
    #[rustfmt::skip]
type Case = ([[f64; 3]; 3], [[f64; 3]; 3]);
    const CASES: [Case; 15] = [
        (
            [
                [
                    0.2144798476113769,
                    -0.02407695440516013,
                    -0.010325807958844902,
                ],
                [
                    -0.02407695440516013,
                    2.3757236018242507,
                    0.051374633828018226,
                ],
                [
                    -0.010325807958844902,
                    0.051374633828018226,
                    1.6970728479545145,
                ],
            ],
            [
                [
                    0.9999180404214786,
                    0.005737311853807251,
                    -0.011445334960684546,
                ],
                [0.0109812586414726, 0.07526523773058544, 0.9971030819067843],
                [
                    0.006582127188013636,
                    -0.9971470439418907,
                    0.07519606611805013,
                ],
            ],
        ),
        (
            [
                [1.4729081740033338, -0.43593626464157476, 1.2640277750368203],
                [
                    -0.43593626464157476,
                    -0.07944421496331798,
                    0.5496489915839593,
                ],
                [
                    1.2640277750368203,
                    0.5496489915839593,
                    -0.016284361036687015,
                ],
            ],
            [
                [
                    0.4337192591870076,
                    -0.22344656085163678,
                    -0.8729027658644746,
                ],
                [0.5349372810075567, 0.8434171820814536, 0.04989551440783513],
                [
                    -0.7250722099201679,
                    0.48858887770123854,
                    -0.4853361711104257,
                ],
            ],
        ),
        (
            [
                [-0.5512058105987409, -1.4170986645677612, 0.5845339037294408],
                [
                    -1.4170986645677612,
                    -3.7780264919353455,
                    0.03887090544344915,
                ],
                [0.5845339037294408, 0.03887090544344915, 0.43464386204512717],
            ],
            [
                [-0.3581076023207103, -0.7708878217746595, 0.5267740610542931],
                [
                    -0.9322535048037996,
                    0.32639653339799696,
                    -0.15610479097965713,
                ],
                [0.05159794512520993, 0.5469892770660963, 0.8355479536409415],
            ],
        ),
        (
            [
                [2.171635566009292, 0.04653754224000245, -0.04458056894072305],
                [0.04653754224000245, 2.637305531214089, -0.04925058992396955],
                [
                    -0.04458056894072305,
                    -0.04925058992396955,
                    1.8362754269246977,
                ],
            ],
            [
                [
                    0.12141934555228848,
                    -0.9871701136834163,
                    -0.10369430638142818,
                ],
                [0.0533466130503959, 0.11080613081561569, -0.9924092604614918],
                [0.9911667273479802, 0.11496594288720571, 0.06611618995639779],
            ],
        ),
        (
            [
                [
                    -0.14408735945445486,
                    -0.8492685955913231,
                    0.49547810393360553,
                ],
                [-0.8492685955913231, 0.07117247411097143, 0.3848752959680136],
                [0.49547810393360553, 0.3848752959680136, 0.6416966091331274],
            ],
            [
                [0.7111245569155269, 0.45039108719706994, -0.5398608460752984],
                [0.6177078041744128, -0.7669585577411021, 0.17381495726695562],
                [
                    -0.33576618831222577,
                    -0.45708034226066824,
                    -0.8236131540384414,
                ],
            ],
        ),
        (
            [
                [1.636460454780614, -1.610812902073426, 0.5215034730825328],
                [-1.610812902073426, 2.1435748337548883, 0.33428168720563434],
                [0.5215034730825328, 0.33428168720563434, 0.6277989439336955],
            ],
            [
                [0.6183316365961865, 0.4360527073722727, -0.6538532125619576],
                [0.510692575167438, 0.40944650847767694, 0.7560070438589115],
                [
                    -0.5973768332075929,
                    0.8013810536122943,
                    -0.030484849648917123,
                ],
            ],
        ),
        (
            [
                [
                    0.5419322360985691,
                    -0.04172908540003697,
                    -0.03733412566053763,
                ],
                [
                    -0.04172908540003697,
                    1.5183743790627842,
                    0.014638495279928858,
                ],
                [
                    -0.03733412566053763,
                    0.014638495279928858,
                    2.529797263733808,
                ],
            ],
            [
                [
                    0.9989346919664025,
                    -0.04201417529488971,
                    -0.019086389398704273,
                ],
                [
                    0.04230766136609549,
                    0.9989883567148256,
                    0.015242209090039816,
                ],
                [
                    0.018426691936440556,
                    -0.016033471941628297,
                    0.9997016478938987,
                ],
            ],
        ),
        (
            [
                [-1.6216291664751399, 1.648126897957153, 0.14343575149689047],
                [1.648126897957153, -0.6904314201025594, -1.9276464267334434],
                [0.14343575149689047, -1.9276464267334434, 1.5506476440951482],
            ],
            [
                [0.6934205794718167, 0.6989208577673102, -0.17515003437846444],
                [-0.6612973990879882, 0.5208038671670521, -0.5398602429363597],
                [-0.28610076882880275, 0.4901764646753765, 0.8233306647720083],
            ],
        ),
        (
            [
                [0.3872656967543076, -0.7470601958478459, -1.1962118766704806],
                [-0.7470601958478459, 1.3595300348356931, -0.1946698121323026],
                [-1.1962118766704806, -0.1946698121323026, 0.9368086716945558],
            ],
            [
                [0.7646895218849027, 0.10082538060573316, -0.6364622359143924],
                [0.31521519330608017, 0.8029244110234312, 0.5059167639955082],
                [0.5620403161948878, -0.5874918150990573, 0.5822061921374295],
            ],
        ),
        (
            [
                [
                    -2.0838356517097787,
                    0.00011812187831417854,
                    0.011674183202991776,
                ],
                [
                    0.00011812187831417854,
                    -1.456131851507803,
                    0.11089270855472388,
                ],
                [
                    0.011674183202991776,
                    0.11089270855472388,
                    -2.472694570275359,
                ],
            ],
            [
                [
                    0.028890584424812064,
                    -0.9995802882880493,
                    -0.002140419952608761,
                ],
                [
                    0.10711407088040303,
                    0.005224857212166308,
                    -0.9942330092521271,
                ],
                [
                    -0.9938269014023623,
                    -0.028494703597215964,
                    -0.10722006302873521,
                ],
            ],
        ),
        (
            [
                [-0.2511841680686544, 1.0520828235029251, 2.972227722687596],
                [1.0520828235029251, -1.751442286845691, -1.625610824892158],
                [2.972227722687596, -1.625610824892158, -1.3771298952686433],
            ],
            [
                [0.5354922308599349, -0.379251735349125, 0.7545967081317856],
                [
                    -0.5118826214110558,
                    -0.8564248087532841,
                    -0.0671768475685357,
                ],
                [-0.6717322774632732, 0.35029226110003864, 0.6527412038682912],
            ],
        ),
        (
            [
                [0.2885141761216499, -0.15748314804554892, 1.321710362960181],
                [
                    -0.15748314804554892,
                    0.027499167236838994,
                    -1.7484464433879465,
                ],
                [1.321710362960181, -1.7484464433879465, 1.3317788795279342],
            ],
            [
                [0.40272357580153145, 0.8228701616208169, -0.4008720726213769],
                [-0.6782408576796223, 0.5623690130681509, 0.47300151386096423],
                [
                    -0.6146568640043302,
                    -0.08139895733290547,
                    -0.7845834240394566,
                ],
            ],
        ),
        (
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]],
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        (
            [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]],
            [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        (
            [[1.0, 0.0, 0.3], [0.0, 1.0, 0.0], [0.3, 0.0, 2.0]],
            [
                [-0.9637149282107609, 0.0, -0.26693358189581146],
                [0.0, -1.0, 0.0],
                [0.26693358189581146, 0.0, -0.9637149282107609],
            ],
        ),
    ];
}
