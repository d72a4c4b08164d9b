//! The min notebook's copying check: the fraction of full-OV rows whose top logit is on the
//! diagonal (`(full_OV[:-1].argmax(-1) == arange(d_vocab_out)).float().mean()`), per head.
//! Rows are the first min(d_vocab, d_vocab_out) input tokens, so a trailing `=` row is dropped.

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::labeled::LabeledTensor;
use crate::error::Result;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OvDiag {
    /// Fraction per head, [n_heads].
    #[serde(flatten)]
    pub fraction: LabeledTensor,
    /// Rows compared per head.
    pub n_rows: usize,
}

/// `full_ov` [n_heads, d_vocab, d_vocab_out] → fraction per head, on the device.
pub fn ov_diag_top1_tensor(full_ov: Tensor<3>) -> (Tensor<1>, usize) {
    let [h, v, vo] = full_ov.dims();
    let n = v.min(vo);
    let device = full_ov.device();
    let top = full_ov.slice([0..h, 0..n]).argmax(2); // [h, n, 1]
    let diag = Tensor::<1, Int>::arange(0..n as i64, &device).reshape([1, n, 1]).expand([h, n, 1]);
    (top.equal(diag).float().mean_dim(1).reshape([h]), n)
}

pub fn ov_diag_top1(full_ov: Tensor<3>) -> Result<OvDiag> {
    let h = full_ov.dims()[0];
    let (t, n) = ov_diag_top1_tensor(full_ov);
    Ok(OvDiag {
        fraction: LabeledTensor::read(t, &["head"])?.label("head", (0..h).map(|i| format!("H{i}")).collect()),
        n_rows: n,
    })
}
