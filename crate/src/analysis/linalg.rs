//! Host linear algebra through nalgebra, in f64: the reduced SVD with `torch.linalg.svd`'s
//! conventions (A = U·diag(S)·Vh, S descending) and eigenvalues of a general square matrix.
//! Inputs are row-major slices, so results read back from burn feed straight in.

use nalgebra::DMatrix;

use crate::error::{Error, Result};

/// Reduced SVD of an m×n matrix: `u` m×k, `s` k, `vh` k×n (row-major), k = min(m, n).
#[derive(Clone, Debug)]
pub struct Svd {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub u: Vec<f64>,
    pub s: Vec<f64>,
    pub vh: Vec<f64>,
}

fn to_dmatrix(a: &[f64], m: usize, n: usize) -> DMatrix<f64> {
    assert_eq!(a.len(), m * n, "matrix data does not fill {m}×{n}");
    DMatrix::from_row_slice(m, n, a)
}

fn row_major(x: &DMatrix<f64>) -> Vec<f64> {
    let (r, c) = x.shape();
    let mut v = Vec::with_capacity(r * c);
    for i in 0..r {
        for j in 0..c {
            v.push(x[(i, j)]);
        }
    }
    v
}

/// `torch.linalg.svd(a, full_matrices=False)`, singular vectors up to sign.
pub fn svd(a: &[f64], m: usize, n: usize) -> Result<Svd> {
    let k = m.min(n);
    if k == 0 {
        return Ok(Svd { m, n, k, u: vec![], s: vec![], vh: vec![] });
    }
    // A generous iteration cap turns a (never seen) non-convergence into an error, not a hang.
    let d = nalgebra::SVD::try_new(to_dmatrix(a, m, n), true, true, f64::EPSILON, 1000 * (m + n))
        .ok_or_else(|| Error::Backend(format!("SVD of a {m}×{n} matrix did not converge")))?;
    let u = d.u.as_ref().expect("u requested");
    let vt = d.v_t.as_ref().expect("v requested");
    Ok(Svd { m, n, k, u: row_major(u), s: d.singular_values.iter().copied().collect(), vh: row_major(vt) })
}

impl Svd {
    /// Flips each singular pair (uᵢ, vhᵢ) so that uᵢ's largest-magnitude entry is positive.
    /// The decomposition is unchanged; repeated runs and backends then agree on signs.
    pub fn canonical_signs(mut self) -> Self {
        for i in 0..self.k {
            let col = |u: &[f64], r: usize| u[r * self.k + i];
            let j = (0..self.m).fold(0, |b, r| if col(&self.u, r).abs() > col(&self.u, b).abs() { r } else { b });
            if col(&self.u, j) < 0.0 {
                for r in 0..self.m {
                    self.u[r * self.k + i] = -self.u[r * self.k + i];
                }
                for c in 0..self.n {
                    self.vh[i * self.n + c] = -self.vh[i * self.n + c];
                }
            }
        }
        self
    }
}

/// Row-major m×k · k×n.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    row_major(&(to_dmatrix(a, m, k) * to_dmatrix(b, k, n)))
}

/// Row-major transpose of an m×n matrix.
pub fn transpose(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    let mut t = vec![0.0; a.len()];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

/// Eigenvalues (re, im) of a general n×n matrix, as `torch.linalg.eig(a).eigenvalues`, sorted
/// by decreasing modulus, then real part, then imaginary part (torch leaves LAPACK's order).
pub fn eigenvalues(a: &[f64], n: usize) -> Result<Vec<(f64, f64)>> {
    if n == 0 {
        return Ok(vec![]);
    }
    let schur = nalgebra::Schur::try_new(to_dmatrix(a, n, n), f64::EPSILON, 1000 * n)
        .ok_or_else(|| Error::Backend(format!("eigenvalues of a {n}×{n} matrix did not converge")))?;
    let mut ev: Vec<(f64, f64)> = schur.complex_eigenvalues().iter().map(|c| (c.re, c.im)).collect();
    ev.sort_by(|x, y| {
        let (mx, my) = (x.0.hypot(x.1), y.0.hypot(y.1));
        my.total_cmp(&mx).then(y.0.total_cmp(&x.0)).then(y.1.total_cmp(&x.1))
    });
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svd_reconstructs_and_is_sorted() {
        let a = [3.0, 1.0, 2.0, -1.0, 0.5, 4.0]; // 2×3 (wide)
        let d = svd(&a, 2, 3).unwrap().canonical_signs();
        assert_eq!((d.k, d.u.len(), d.vh.len()), (2, 4, 6));
        assert!(d.s[0] >= d.s[1]);
        let us: Vec<f64> = (0..4).map(|i| d.u[i] * d.s[i % 2]).collect();
        let back = matmul(&us, &d.vh, 2, 2, 3);
        for (x, y) in back.iter().zip(a) {
            assert!((x - y).abs() < 1e-12, "{back:?}");
        }
    }

    #[test]
    fn complex_eigenvalues_of_a_rotation() {
        // [[0,-2],[2,0]] has eigenvalues ±2i; diag(3) adds a real one.
        let a = [0.0, -2.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0];
        let ev = eigenvalues(&a, 3).unwrap();
        assert!((ev[0].0 - 3.0).abs() < 1e-12 && ev[0].1.abs() < 1e-12);
        assert!(ev[1].0.abs() < 1e-12 && (ev[1].1 - 2.0).abs() < 1e-12);
        assert!((ev[2].1 + 2.0).abs() < 1e-12);
    }
}
