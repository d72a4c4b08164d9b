//! Weight views: each head's OV and QK as factored matrices (TL's `model.OV`, `model.QK`),
//! the full circuits W_E·W_OV·W_U and W_E·W_QK·W_Eᵀ (no scale, bias or position), their
//! positional variants over TL's `W_E_pos` (token rows, then position rows, as the sorting
//! notebook concatenates them), the OV circuit into the MLP (W_E·W_OV·W_in), each neuron's
//! direct logit effect (W_out·W_U) and the biases projected on W_U.

use burn::tensor::Tensor;

use super::factored::FactoredMatrix;
use super::weights::{self, w_e, w_e_pos, w_u};
use crate::error::Result;
use crate::model::HookedTransformer;

/// TL's `model.OV[layer]`: W_V·W_O per head, [n_heads] × [d_model, d_model].
pub fn ov(m: &HookedTransformer, layer: usize) -> Result<FactoredMatrix> {
    let h = m.cfg.n_heads;
    FactoredMatrix::new(weights::w_v(m, layer)?, weights::w_o(m, layer)?, vec![h], &["head"])
}

/// TL's `model.QK[layer]`: W_Q·W_Kᵀ per head (query rows, key columns).
pub fn qk(m: &HookedTransformer, layer: usize) -> Result<FactoredMatrix> {
    let h = m.cfg.n_heads;
    FactoredMatrix::new(weights::w_q(m, layer)?, weights::w_k(m, layer)?.swap_dims(1, 2), vec![h], &["head"])
}

/// x·A·B per head for x [n, d_model] → [n_heads, n, rdim].
fn through(x: Tensor<2>, fm: &FactoredMatrix) -> Tensor<3> {
    let [n, d] = x.dims();
    x.reshape([1, n, d]).matmul(fm.a.clone()).matmul(fm.b.clone())
}

/// [h, n, d] · [d, k] → [h, n, k]
fn times(x: Tensor<3>, w: Tensor<2>) -> Tensor<3> {
    let [d, k] = w.dims();
    x.matmul(w.reshape([1, d, k]))
}

/// W_E·W_OV·W_U: [n_heads, d_vocab, d_vocab_out] (input token → output logit).
pub fn full_ov(m: &HookedTransformer, layer: usize) -> Result<Tensor<3>> {
    Ok(times(through(w_e(m), &ov(m, layer)?), w_u(m)))
}

/// W_E·W_QK·W_Eᵀ: [n_heads, d_vocab (query), d_vocab (key)].
pub fn full_qk(m: &HookedTransformer, layer: usize) -> Result<Tensor<3>> {
    Ok(times(through(w_e(m), &qk(m, layer)?), w_e(m).transpose()))
}

/// W_E_pos·W_OV·W_U: [n_heads, d_vocab + n_ctx, d_vocab_out].
pub fn full_ov_pos(m: &HookedTransformer, layer: usize) -> Result<Tensor<3>> {
    Ok(times(through(w_e_pos(m), &ov(m, layer)?), w_u(m)))
}

/// W_E_pos·W_QK·W_E_posᵀ: [n_heads, d_vocab + n_ctx, d_vocab + n_ctx].
pub fn full_qk_pos(m: &HookedTransformer, layer: usize) -> Result<Tensor<3>> {
    Ok(times(through(w_e_pos(m), &qk(m, layer)?), w_e_pos(m).transpose()))
}

/// W_E·W_OV (layer `layer`)·W_in (layer `mlp_layer`): [n_heads, d_vocab, d_mlp].
pub fn ov_to_neurons(m: &HookedTransformer, layer: usize, mlp_layer: usize) -> Result<Tensor<3>> {
    Ok(times(through(w_e(m), &ov(m, layer)?), weights::w_in(m, mlp_layer)?))
}

/// W_E·W_OV: [n_heads, d_vocab, d_model] (what the cumsum notebook takes the SVD of).
pub fn embed_ov(m: &HookedTransformer, layer: usize) -> Result<Tensor<3>> {
    Ok(through(w_e(m), &ov(m, layer)?))
}

/// W_out·W_U: each neuron's direct effect on the logits, [d_mlp, d_vocab_out].
pub fn neuron_logits(m: &HookedTransformer, layer: usize) -> Result<Tensor<2>> {
    Ok(weights::w_out(m, layer)?.matmul(w_u(m)))
}

/// The cumsum notebook's biases on W_U: per layer b_O, b_in·W_out and b_out (MLP rows only
/// when there is an MLP), each · W_U → ([rows, d_vocab_out], row labels).
pub fn bias_logits(m: &HookedTransformer) -> Result<(Tensor<2>, Vec<String>)> {
    let (mut rows, mut labels) = (vec![], vec![]);
    for l in 0..m.cfg.n_layers {
        rows.push(weights::b_o(m, l)?);
        labels.push(format!("L{l} b_O"));
        if m.cfg.has_mlp() {
            let d_mlp = m.cfg.d_mlp.unwrap_or(0);
            rows.push(weights::b_in(m, l)?.reshape([1, d_mlp]).matmul(weights::w_out(m, l)?).reshape([m.cfg.d_model]));
            labels.push(format!("L{l} b_in·W_out"));
            rows.push(weights::b_out(m, l)?);
            labels.push(format!("L{l} b_out"));
        }
    }
    Ok((Tensor::stack::<2>(rows, 0).matmul(w_u(m)), labels))
}
