//! TL's weight properties (`model.W_E`, `model.W_V[l]`, …) as burn tensors, with an error
//! naming what is missing when a model has no such weight (e.g. no MLP).

use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::model::HookedTransformer;
use crate::model::block::TransformerBlock;
use crate::model::mlp::Mlp;

fn block(m: &HookedTransformer, l: usize) -> Result<&TransformerBlock> {
    m.blocks
        .get(l)
        .ok_or_else(|| Error::Config(format!("layer {l} does not exist (the model has {} layers)", m.blocks.len())))
}

fn mlp(m: &HookedTransformer, l: usize) -> Result<&Mlp> {
    block(m, l)?.mlp.as_ref().ok_or_else(|| Error::Config("this model is attention-only: it has no MLP".into()))
}

/// [d_vocab, d_model]
pub fn w_e(m: &HookedTransformer) -> Tensor<2> {
    m.embed.W_E.val()
}
/// [n_ctx, d_model]
pub fn w_pos(m: &HookedTransformer) -> Tensor<2> {
    m.pos_embed.W_pos.val()
}
/// TL's `W_E_pos`: token then position embeddings, [d_vocab + n_ctx, d_model].
pub fn w_e_pos(m: &HookedTransformer) -> Tensor<2> {
    Tensor::cat(vec![w_e(m), w_pos(m)], 0)
}
/// [d_model, d_vocab_out]
pub fn w_u(m: &HookedTransformer) -> Tensor<2> {
    m.unembed.W_U.val()
}
/// [d_vocab_out]
pub fn b_u(m: &HookedTransformer) -> Tensor<1> {
    m.unembed.b_U.val()
}
/// [n_heads, d_model, d_head]
pub fn w_q(m: &HookedTransformer, l: usize) -> Result<Tensor<3>> {
    Ok(block(m, l)?.attn.W_Q.val())
}
pub fn w_k(m: &HookedTransformer, l: usize) -> Result<Tensor<3>> {
    Ok(block(m, l)?.attn.W_K.val())
}
pub fn w_v(m: &HookedTransformer, l: usize) -> Result<Tensor<3>> {
    Ok(block(m, l)?.attn.W_V.val())
}
/// [n_heads, d_head, d_model]
pub fn w_o(m: &HookedTransformer, l: usize) -> Result<Tensor<3>> {
    Ok(block(m, l)?.attn.W_O.val())
}
/// [d_model]
pub fn b_o(m: &HookedTransformer, l: usize) -> Result<Tensor<1>> {
    Ok(block(m, l)?.attn.b_O.val())
}
/// [d_model, d_mlp]
pub fn w_in(m: &HookedTransformer, l: usize) -> Result<Tensor<2>> {
    Ok(mlp(m, l)?.W_in.val())
}
/// [d_mlp]
pub fn b_in(m: &HookedTransformer, l: usize) -> Result<Tensor<1>> {
    Ok(mlp(m, l)?.b_in.val())
}
/// [d_mlp, d_model]
pub fn w_out(m: &HookedTransformer, l: usize) -> Result<Tensor<2>> {
    Ok(mlp(m, l)?.W_out.val())
}
/// [d_model]
pub fn b_out(m: &HookedTransformer, l: usize) -> Result<Tensor<1>> {
    Ok(mlp(m, l)?.b_out.val())
}
/// The final LayerNorm's learned weight [d_model], when it has one (`LN`, not `LNPre`/none).
pub fn ln_final_w(m: &HookedTransformer) -> Option<Tensor<1>> {
    m.ln_final.as_ref().and_then(|ln| ln.w.as_ref()).map(|w| w.val())
}
