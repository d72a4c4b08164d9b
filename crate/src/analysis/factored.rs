//! TL's `FactoredMatrix`: a matrix kept as A·B (e.g. OV = W_V·W_O, QK = W_Q·W_Kᵀ) so that
//! products, transposes and composition stay cheap, with the SVD computed TL's way
//! (SVD of A and of B, then of the small middle matrix) and eigenvalues from B·A.
//!
//! The factors are burn tensors with any number of leading dimensions flattened into one
//! (`lead` keeps their sizes); the SVD and eigenvalues run on the host through nalgebra.

use burn::tensor::Tensor;

use super::labeled::{LabeledTensor, to_vec};
use super::linalg::{self, Svd};
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct FactoredMatrix {
    /// [n, ldim, mdim], n = product of `lead`.
    pub a: Tensor<3>,
    /// [n, mdim, rdim].
    pub b: Tensor<3>,
    /// Sizes of the leading dimensions (empty for a single matrix).
    pub lead: Vec<usize>,
    /// Names of the leading dimensions, used as axis names in results.
    pub lead_axes: Vec<String>,
}

/// U [.., ldim, k], S [.., k], V [.., rdim, k] with M = U·diag(S)·Vᵀ, k = min(ldim, mdim, rdim).
/// `V` is what TL 3.9 returns as `FactoredMatrix.V` (and under its historical alias `Vh`).
/// In JSON the singular values are the top-level `shape`/`values`, with `U` and `V` beside.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FactoredSvd {
    #[serde(flatten)]
    pub s: LabeledTensor,
    #[serde(rename = "U")]
    pub u: LabeledTensor,
    #[serde(rename = "V")]
    pub v: LabeledTensor,
}

impl FactoredMatrix {
    /// Factors with equal leading dims; a leading size of 1 on either side broadcasts.
    pub fn new(a: Tensor<3>, b: Tensor<3>, lead: Vec<usize>, lead_axes: &[&str]) -> Result<Self> {
        let n: usize = lead.iter().product();
        let [na, _, m] = a.dims();
        let [nb, m2, _] = b.dims();
        if m != m2 {
            return Err(Error::Config(format!("factored matrix: inner dims differ ({m} vs {m2})")));
        }
        if lead.len() != lead_axes.len() {
            return Err(Error::Config("factored matrix: one name per leading dimension".into()));
        }
        let fit = |t: Tensor<3>, k: usize, what: &str| -> Result<Tensor<3>> {
            let [_, x, y] = t.dims();
            match k {
                k if k == n => Ok(t),
                1 => Ok(t.expand([n, x, y])),
                k => Err(Error::Config(format!("factored matrix: {what} has {k} leading entries, expected {n}"))),
            }
        };
        Ok(Self {
            a: fit(a, na, "A")?,
            b: fit(b, nb, "B")?,
            lead,
            lead_axes: lead_axes.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn from_2d(a: Tensor<2>, b: Tensor<2>) -> Result<Self> {
        Self::new(a.unsqueeze_dim(0), b.unsqueeze_dim(0), vec![], &[])
    }

    pub fn n(&self) -> usize {
        self.a.dims()[0]
    }
    pub fn ldim(&self) -> usize {
        self.a.dims()[1]
    }
    pub fn mdim(&self) -> usize {
        self.a.dims()[2]
    }
    pub fn rdim(&self) -> usize {
        self.b.dims()[2]
    }

    fn with(&self, a: Tensor<3>, b: Tensor<3>) -> Self {
        Self { a, b, lead: self.lead.clone(), lead_axes: self.lead_axes.clone() }
    }

    /// The product matrix [n, ldim, rdim].
    pub fn ab(&self) -> Tensor<3> {
        self.a.clone().matmul(self.b.clone())
    }

    /// B·A [n, mdim, mdim]; only defined when ldim == rdim.
    pub fn ba(&self) -> Result<Tensor<3>> {
        if self.ldim() != self.rdim() {
            return Err(Error::Config(format!("B·A needs ldim == rdim, shape is {}×{}", self.ldim(), self.rdim())));
        }
        Ok(self.b.clone().matmul(self.a.clone()))
    }

    /// (A·B)ᵀ = Bᵀ·Aᵀ.
    pub fn t(&self) -> Self {
        self.with(self.b.clone().swap_dims(1, 2), self.a.clone().swap_dims(1, 2))
    }

    /// M·X for X [n or 1, rdim, k], keeping the cheaper factorisation as TL does.
    pub fn matmul(&self, x: Tensor<3>) -> Self {
        let x = self.broadcast(x);
        if self.rdim() > self.mdim() {
            self.with(self.a.clone(), self.b.clone().matmul(x))
        } else {
            self.with(self.ab(), x)
        }
    }

    /// X·M for X [n or 1, k, ldim].
    pub fn rmatmul(&self, x: Tensor<3>) -> Self {
        let x = self.broadcast(x);
        if self.ldim() > self.mdim() {
            self.with(x.matmul(self.a.clone()), self.b.clone())
        } else {
            self.with(x, self.ab())
        }
    }

    fn broadcast(&self, x: Tensor<3>) -> Tensor<3> {
        let [k, r, c] = x.dims();
        if k == 1 && self.n() > 1 { x.expand([self.n(), r, c]) } else { x }
    }

    /// Composition M·N of two factored matrices: (M·A_N)·B_N, as TL's `__matmul__`.
    pub fn compose(&self, other: &FactoredMatrix) -> Self {
        self.matmul(other.a.clone()).matmul(other.b.clone())
    }

    /// Scalar multiple (applied to A).
    pub fn scale(&self, s: f32) -> Self {
        self.with(self.a.clone().mul_scalar(s), self.b.clone())
    }

    /// The matrix at flat leading index `i` (e.g. one head).
    pub fn index(&self, i: usize) -> Self {
        let (l, m, r) = (self.ldim(), self.mdim(), self.rdim());
        Self {
            a: self.a.clone().narrow(0, i, 1).reshape([1, l, m]),
            b: self.b.clone().narrow(0, i, 1).reshape([1, m, r]),
            lead: vec![],
            lead_axes: vec![],
        }
    }

    /// Reads both factors back (blocking). The browser reads them asynchronously and calls
    /// the same host methods.
    pub fn host(&self) -> Result<HostFactored> {
        Ok(HostFactored {
            lead: self.lead.clone(),
            lead_axes: self.lead_axes.clone(),
            l: self.ldim(),
            m: self.mdim(),
            r: self.rdim(),
            a: to_vec(self.a.clone())?,
            b: to_vec(self.b.clone())?,
        })
    }

    pub fn svd(&self) -> Result<FactoredSvd> {
        self.host()?.svd()
    }
    pub fn eigenvalues(&self) -> Result<LabeledTensor> {
        self.host()?.eigenvalues()
    }
    pub fn norm(&self) -> Result<LabeledTensor> {
        self.host()?.norm()
    }
}

/// A factored matrix on the host: the input to the SVD and eigenvalue computations.
#[derive(Clone, Debug)]
pub struct HostFactored {
    pub lead: Vec<usize>,
    pub lead_axes: Vec<String>,
    pub l: usize,
    pub m: usize,
    pub r: usize,
    pub a: Vec<f32>,
    pub b: Vec<f32>,
}

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

fn f32s(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

impl HostFactored {
    fn n(&self) -> usize {
        self.lead.iter().product()
    }

    fn axes<'a>(&'a self, tail: &[&'a str]) -> Vec<&'a str> {
        self.lead_axes.iter().map(|s| s.as_str()).chain(tail.iter().copied()).collect()
    }

    fn shape(&self, tail: &[usize]) -> Vec<usize> {
        self.lead.iter().chain(tail).copied().collect()
    }

    /// One matrix's SVD by TL's algorithm: SVD(A), SVD(B), then SVD of
    /// diag(Sa)·Vhaᵀᵀ·Ub·diag(Sb); U = Ua·Um, V = Vb·Vm.
    fn svd_one(&self, i: usize) -> Result<Svd> {
        let (l, m, r) = (self.l, self.m, self.r);
        let sa = linalg::svd(&f64s(&self.a[i * l * m..(i + 1) * l * m]), l, m)?;
        let sb = linalg::svd(&f64s(&self.b[i * m * r..(i + 1) * m * r]), m, r)?;
        let (ka, kb) = (sa.k, sb.k);
        let mut middle = linalg::matmul(&sa.vh, &sb.u, ka, m, kb);
        for p in 0..ka {
            for q in 0..kb {
                middle[p * kb + q] *= sa.s[p] * sb.s[q];
            }
        }
        let sm = linalg::svd(&middle, ka, kb)?;
        let k = sm.k;
        let u = linalg::matmul(&sa.u, &sm.u, l, ka, k);
        // Vhᵀ of the product = Vhm·Vhb (k×r).
        let vh = linalg::matmul(&sm.vh, &sb.vh, k, kb, r);
        Ok(Svd { m: l, n: r, k, u, s: sm.s, vh }.canonical_signs())
    }

    pub fn svd(&self) -> Result<FactoredSvd> {
        let k = self.l.min(self.m).min(self.r);
        let (mut u, mut s, mut v) = (vec![], vec![], vec![]);
        for i in 0..self.n() {
            let d = self.svd_one(i)?;
            u.extend(f32s(&d.u));
            s.extend(f32s(&d.s));
            v.extend(f32s(&linalg::transpose(&d.vh, k, self.r)));
        }
        Ok(FactoredSvd {
            u: LabeledTensor::new(self.shape(&[self.l, k]), u, &self.axes(&["row", "sv"])),
            s: LabeledTensor::new(self.shape(&[k]), s, &self.axes(&["sv"])),
            v: LabeledTensor::new(self.shape(&[self.r, k]), v, &self.axes(&["col", "sv"])),
        })
    }

    /// Eigenvalues of A·B via B·A [.., mdim, 2] (re, im), sorted by decreasing modulus.
    pub fn eigenvalues(&self) -> Result<LabeledTensor> {
        let (l, m, r) = (self.l, self.m, self.r);
        if l != r {
            return Err(Error::Config(format!("eigenvalues need a square matrix, shape is {l}×{r}")));
        }
        let mut out = vec![];
        for i in 0..self.n() {
            let ba = linalg::matmul(
                &f64s(&self.b[i * m * r..(i + 1) * m * r]),
                &f64s(&self.a[i * l * m..(i + 1) * l * m]),
                m,
                r,
                m,
            );
            for (re, im) in linalg::eigenvalues(&ba, m)? {
                out.extend([re as f32, im as f32]);
            }
        }
        Ok(LabeledTensor::new(self.shape(&[m, 2]), out, &self.axes(&["eigenvalue", "complex"]))
            .label("complex", vec!["re".into(), "im".into()]))
    }

    /// Frobenius norm, sqrt(Σ S²).
    pub fn norm(&self) -> Result<LabeledTensor> {
        let s = self.svd()?.s;
        let k = *s.shape.last().unwrap_or(&0);
        let v = (0..self.n())
            .map(|i| s.values[i * k..(i + 1) * k].iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt() as f32)
            .collect();
        Ok(LabeledTensor::new(self.lead.clone(), v, &self.axes(&[])))
    }
}

/// TL's `utils.composition_score`: ‖L·R‖ / (‖L‖·‖R‖), per leading index.
pub fn composition_score(left: &FactoredMatrix, right: &FactoredMatrix) -> Result<LabeledTensor> {
    let num = left.compose(right).norm()?;
    let (l, r) = (left.norm()?, right.norm()?);
    let v = num.values.iter().zip(l.values.iter().zip(&r.values)).map(|(n, (a, b))| n / (a * b)).collect();
    Ok(LabeledTensor { values: v, ..num })
}
