//! Singular value decompositions of weight matrices (`torch.linalg.svd` conventions:
//! M = U·diag(S)·Vh) and projections onto chosen singular directions — the cumsum notebook's
//! "W_E is a number line" and "W_U directions" plots.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::circuits;
use super::labeled::{LabeledTensor, to_vec};
use super::linalg;
use super::weights::{self, w_e, w_u};
use crate::error::{Error, Result};
use crate::model::HookedTransformer;

/// Singular values at the top level (`shape`/`values`), U and Vh beside them, and optionally
/// a projection onto the leading singular directions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spectrum {
    #[serde(flatten)]
    pub s: LabeledTensor,
    #[serde(rename = "U")]
    pub u: LabeledTensor,
    #[serde(rename = "Vh")]
    pub vh: LabeledTensor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection: Option<LabeledTensor>,
}

/// Reduced SVD of each matrix in `x` [n, r, c] (signs canonical: each U column's largest entry > 0).
/// `lead` names the leading axis, or `None` for a single matrix (n must be 1).
pub fn svd_batch(x: Tensor<3>, lead: Option<&str>, row: &str, col: &str) -> Result<Spectrum> {
    let [n, r, c] = x.dims();
    let k = r.min(c);
    let data = to_vec(x)?;
    let (mut u, mut s, mut vh) = (vec![], vec![], vec![]);
    for i in 0..n {
        let m: Vec<f64> = data[i * r * c..(i + 1) * r * c].iter().map(|&v| v as f64).collect();
        let d = linalg::svd(&m, r, c)?.canonical_signs();
        u.extend(d.u.iter().map(|&v| v as f32));
        s.extend(d.s.iter().map(|&v| v as f32));
        vh.extend(d.vh.iter().map(|&v| v as f32));
    }
    if lead.is_none() && n != 1 {
        return Err(Error::Config("svd_batch: several matrices need a leading axis name".into()));
    }
    let shaped = |tail: &[usize]| -> Vec<usize> { lead.map(|_| n).into_iter().chain(tail.iter().copied()).collect() };
    let ax =
        |tail: &[&str]| -> Vec<String> { lead.into_iter().chain(tail.iter().copied()).map(String::from).collect() };
    let make = |shape: Vec<usize>, values: Vec<f32>, axes: Vec<String>| LabeledTensor {
        shape,
        values,
        axes,
        labels: Default::default(),
    };
    Ok(Spectrum {
        s: make(shaped(&[k]), s, ax(&["sv"])),
        u: make(shaped(&[r, k]), u, ax(&[row, "sv"])),
        vh: make(shaped(&[k, c]), vh, ax(&["sv", col])),
        projection: None,
    })
}

/// The first `k` columns of a [.., r, K] host matrix as a device tensor [n, r, k].
fn leading_columns(t: &LabeledTensor, k: usize, device: &Device) -> Result<Tensor<3>> {
    let nd = t.shape.len();
    let (r, kk) = (t.shape[nd - 2], t.shape[nd - 1]);
    if k > kk {
        return Err(Error::Config(format!("asked for {k} singular directions, there are {kk}")));
    }
    let n = t.values.len() / (r * kk);
    let mut v = Vec::with_capacity(n * r * k);
    for i in 0..n {
        for row in 0..r {
            let o = i * r * kk + row * kk;
            v.extend_from_slice(&t.values[o..o + k]);
        }
    }
    Ok(Tensor::from_data(TensorData::new(v, [n, r, k]), device))
}

/// The first `k` rows of Vh, transposed: [n, c, k].
fn leading_rows_t(t: &LabeledTensor, k: usize, device: &Device) -> Result<Tensor<3>> {
    let nd = t.shape.len();
    let (kk, c) = (t.shape[nd - 2], t.shape[nd - 1]);
    if k > kk {
        return Err(Error::Config(format!("asked for {k} singular directions, there are {kk}")));
    }
    let n = t.values.len() / (kk * c);
    let rows = Tensor::<3>::from_data(TensorData::new(t.values.clone(), [n, kk, c]), device);
    Ok(rows.slice([0..n, 0..k]).swap_dims(1, 2))
}

fn proj_axes(x: Tensor<3>, lead: bool, axes: &[&str]) -> Result<LabeledTensor> {
    if lead {
        LabeledTensor::read(x, axes)
    } else {
        let [_, r, k] = x.dims();
        LabeledTensor::read(x.reshape([r, k]), &axes[1..])
    }
}

/// SVD of W_E [d_vocab, d_model]; projection W_E·Vh[:k]ᵀ [d_vocab, k] (k = 1 is the
/// notebook's "embedding projection onto primary direction").
pub fn svd_w_e(m: &HookedTransformer, k: usize) -> Result<Spectrum> {
    let x = w_e(m);
    let device = x.device();
    let mut sp = svd_batch(x.clone().unsqueeze_dim(0), None, "token", "d_model")?;
    let dirs = leading_rows_t(&sp.vh, k, &device)?;
    sp.projection = Some(proj_axes(x.unsqueeze_dim::<3>(0).matmul(dirs), false, &["", "token", "sv"])?);
    Ok(sp)
}

/// SVD of W_U [d_model, d_vocab_out]; projection W_Uᵀ·U[:, :k] [d_vocab_out, k] (the
/// notebook's scatter of output tokens on the top two directions).
pub fn svd_w_u(m: &HookedTransformer, k: usize) -> Result<Spectrum> {
    let x = w_u(m);
    let device = x.device();
    let mut sp = svd_batch(x.clone().unsqueeze_dim(0), None, "d_model", "output_token")?;
    let dirs = leading_columns(&sp.u, k, &device)?;
    sp.projection =
        Some(proj_axes(x.transpose().unsqueeze_dim::<3>(0).matmul(dirs), false, &["", "output_token", "sv"])?);
    Ok(sp)
}

/// SVD of W_E·W_OV per head [n_heads, d_vocab, d_model]; projection (W_E·W_OV)·Vh[:k]ᵀ
/// [n_heads, d_vocab, k].
pub fn svd_embed_ov(m: &HookedTransformer, layer: usize, k: usize) -> Result<Spectrum> {
    let x = circuits::embed_ov(m, layer)?;
    let device = x.device();
    let mut sp = svd_batch(x.clone(), Some("head"), "token", "d_model")?;
    let dirs = leading_rows_t(&sp.vh, k, &device)?;
    sp.projection = Some(proj_axes(x.matmul(dirs), true, &["head", "token", "sv"])?);
    Ok(sp)
}

/// The top-`k` left singular vectors of W_U (the "principal directions" of the output space)
/// and what projects onto them: W_U's columns, each head's W_E·W_OV rows and each neuron's
/// W_out row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnembedDirections {
    /// [d_model, k]
    pub directions: LabeledTensor,
    /// W_Uᵀ·U_k [d_vocab_out, k]
    pub w_u: LabeledTensor,
    /// W_E·W_OV·U_k [n_heads, d_vocab, k]
    pub embed_ov: LabeledTensor,
    /// W_out·U_k [d_mlp, k] (models with an MLP)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w_out: Option<LabeledTensor>,
}

pub fn unembed_directions(m: &HookedTransformer, layer: usize, k: usize) -> Result<UnembedDirections> {
    let sp = svd_w_u(m, k)?;
    let device = w_u(m).device();
    let dirs = leading_columns(&sp.u, k, &device)?.squeeze_dim::<2>(0); // [d_model, k]
    let [d, _] = dirs.dims();
    let on = |x: Tensor<3>| x.matmul(dirs.clone().reshape([1, d, k]));
    let w_out = if m.cfg.has_mlp() {
        Some(proj_axes(on(weights::w_out(m, layer)?.unsqueeze_dim(0)), false, &["", "neuron", "sv"])?)
    } else {
        None
    };
    Ok(UnembedDirections {
        directions: LabeledTensor::read(dirs.clone(), &["d_model", "sv"])?,
        w_u: proj_axes(on(w_u(m).transpose().unsqueeze_dim(0)), false, &["", "output_token", "sv"])?,
        embed_ov: proj_axes(on(circuits::embed_ov(m, layer)?), true, &["head", "token", "sv"])?,
        w_out,
    })
}
