//! Direct logit attribution: how much each stacked component writes to chosen logits (TL's
//! `logit_attrs`, optionally as a logit difference), to every logit (the notebooks'
//! `stack @ W_U`), and the logit lens over the accumulated residual stream.

use burn::tensor::{Int, Tensor, TensorData};

use super::run::{CachedRun, Positions};
use super::stacks::Stack;
use super::weights;
use crate::error::{Error, Result};
use crate::model::config::Normalization;

impl CachedRun {
    /// W_U columns for `tokens` (one per [batch, stack position], row-major) → [batch, pos, d_model].
    fn residual_directions(&self, tokens: &[i64], b: usize, p: usize) -> Result<Tensor<3>> {
        let v = self.cfg().d_vocab_out;
        if tokens.len() != b * p {
            return Err(Error::Tokens(format!("{} answer tokens given for [{b}, {p}] positions", tokens.len())));
        }
        if let Some(t) = tokens.iter().find(|&&t| t < 0 || t as usize >= v) {
            return Err(Error::Tokens(format!("answer token {t} is outside 0..{v}")));
        }
        let ids: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(ids, [b * p]), &self.device());
        let d = self.cfg().d_model;
        Ok(weights::w_u(&self.model).transpose().select(0, idx).reshape([b, p, d]))
    }

    /// TL's `logit_attrs`: the final LayerNorm's cached scale applied to the stack, dotted with
    /// W_U[:, tokens] (minus W_U[:, incorrect] when given) → [components, batch, pos].
    pub fn logit_attrs(&self, stack: Stack, tokens: &[i64], incorrect: Option<&[i64]>) -> Result<Tensor<3>> {
        let [_, b, p, _] = stack.t.dims();
        let mut dirs = self.residual_directions(tokens, b, p)?;
        if let Some(wrong) = incorrect {
            dirs = dirs - self.residual_directions(wrong, b, p)?;
        }
        let scaled = self.apply_ln_to_stack(stack, None, false, false)?;
        Ok((scaled.t * dirs.unsqueeze_dim::<4>(0)).sum_dim(3).squeeze_dim::<3>(3))
    }

    /// Each component's direct contribution to every logit, [components, batch, pos, d_vocab_out]:
    /// the cached final-LN scale applied, then · (w_ln ⊙ W_U). With no LayerNorm this is the
    /// cumsum notebook's `stack @ W_U`; with LN it is the majority notebook's `fold_W_U`.
    pub fn dla_vocab(&self, stack: Stack) -> Result<Stack> {
        let scaled = self.apply_ln_to_stack(stack, None, false, false)?;
        let mut w_u = weights::w_u(&self.model);
        if let Some(w) = weights::ln_final_w(&self.model) {
            let d = w.dims()[0];
            w_u = w.reshape([d, 1]) * w_u;
        }
        Ok(Stack { t: project(scaled.t, w_u), ..scaled })
    }

    /// Logit lens: the accumulated residual stream after each layer (and mid-layer when
    /// `incl_mid`), through the final LayerNorm recomputed per entry, · W_U (no b_U, as TL's
    /// `accumulated_resid` example) → [layers, batch, pos, d_vocab_out].
    pub fn logit_lens(&self, incl_mid: bool, pos: &Positions) -> Result<Stack> {
        let n = self.cfg().n_layers;
        // No LayerNorm and an MLP last (addition's model): the last point read through W_U is
        // the logits less b_U. Read from hook_resid_post it would form the MLP's output, which
        // a scored run leaves deferred (HookedTransformer::folded_tail): half its MLP's flops.
        if n > 0 && self.cfg().normalization_type == Normalization::None && self.model.folded_mlp().is_some() {
            let before = self.accumulated_resid(Some(n - 1), incl_mid, incl_mid, pos)?;
            let v = self.cfg().d_vocab_out;
            let last = pos.apply(self.logits.clone() - weights::b_u(&self.model).reshape([1, 1, v]), 1);
            let t = Tensor::cat(vec![project(before.t, weights::w_u(&self.model)), last.unsqueeze_dim::<4>(0)], 0);
            let labels = before.labels.into_iter().chain(["final_post".to_string()]).collect();
            return Ok(Stack { t, labels, positions: before.positions });
        }
        let acc = self.accumulated_resid(None, incl_mid, false, pos)?;
        let normed = self.apply_ln_to_stack(acc, None, false, true)?;
        Ok(Stack { t: project(normed.t, weights::w_u(&self.model)), ..normed })
    }
}

/// [.., d] · [d, k] over the last axis of a rank-4 tensor.
pub fn project(x: Tensor<4>, w: Tensor<2>) -> Tensor<4> {
    let [c, b, p, d] = x.dims();
    let k = w.dims()[1];
    x.reshape([c * b * p, d]).matmul(w).reshape([c, b, p, k])
}
