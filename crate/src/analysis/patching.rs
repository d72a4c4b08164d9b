//! Activation patching clean → corrupted, as TL's `patching.get_act_patch_*`: run the corrupted
//! tokens with one activation slice replaced by the clean run's, and measure the task loss and
//! accuracy against the clean targets. One forward pass per patched slice.

use serde::{Deserialize, Serialize};

use super::labeled::{LabeledTensor, index_labels};
use super::metrics::{LossAccuracy, loss_accuracy};
use super::run::CachedRun;
use crate::error::{Error, Result};
use crate::model::{HookAction, Intervention, NameFilter, Tokens};

#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchKind {
    /// `get_act_patch_resid_pre`: [layer, pos]
    ResidPre,
    /// `get_act_patch_attn_out`: [layer, pos]
    AttnOut,
    /// `get_act_patch_mlp_out`: [layer, pos]
    MlpOut,
    /// `get_act_patch_attn_head_out_all_pos` (patches `hook_z`): [layer, head]
    HeadOutAllPos,
    /// `get_act_patch_attn_head_out_by_pos`: [layer, pos, head]
    HeadOutByPos,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PatchResult {
    pub clean: LossAccuracy,
    pub corrupted: LossAccuracy,
    pub loss: LabeledTensor,
    pub accuracy: LabeledTensor,
}

impl CachedRun {
    /// Patches this (clean) run's activations into a run on `corrupted`, one slice at a time.
    pub fn activation_patching(&self, corrupted: &Tokens, kind: PatchKind, targets: &[i64]) -> Result<PatchResult> {
        if (corrupted.batch, corrupted.pos) != (self.batch(), self.pos()) {
            return Err(Error::Tokens(format!(
                "corrupted tokens are [{}, {}], clean are [{}, {}]",
                corrupted.batch,
                corrupted.pos,
                self.batch(),
                self.pos()
            )));
        }
        let (n_l, n_h, n_p) = (self.cfg().n_layers, self.cfg().n_heads, self.pos());
        if matches!(kind, PatchKind::MlpOut) && !self.cfg().has_mlp() {
            return Err(Error::Config("this model is attention-only: it has no mlp_out to patch".into()));
        }
        let hook = |l: usize| match kind {
            PatchKind::ResidPre => format!("blocks.{l}.hook_resid_pre"),
            PatchKind::AttnOut => format!("blocks.{l}.hook_attn_out"),
            PatchKind::MlpOut => format!("blocks.{l}.hook_mlp_out"),
            PatchKind::HeadOutAllPos | PatchKind::HeadOutByPos => format!("blocks.{l}.attn.hook_z"),
        };
        let (shape, axes): (Vec<usize>, Vec<&str>) = match kind {
            PatchKind::HeadOutAllPos => (vec![n_l, n_h], vec!["layer", "head"]),
            PatchKind::HeadOutByPos => (vec![n_l, n_p, n_h], vec!["layer", "pos", "head"]),
            _ => (vec![n_l, n_p], vec!["layer", "pos"]),
        };
        let (mut loss, mut acc) = (vec![], vec![]);
        for l in 0..n_l {
            let name = hook(l);
            let clean =
                self.cache.get(&name).ok_or_else(|| Error::Hook(format!("{name} is not in the cache")))?.clone();
            let base = Intervention::new(&name, HookAction::Patch(clean));
            let slices: Vec<Intervention> = match kind {
                PatchKind::HeadOutAllPos => (0..n_h).map(|h| base.clone().heads(vec![h])).collect(),
                PatchKind::HeadOutByPos => (0..n_p)
                    .flat_map(|p| (0..n_h).map(move |h| (p, h)))
                    .map(|(p, h)| base.clone().positions(vec![p]).heads(vec![h]))
                    .collect(),
                _ => (0..n_p).map(|p| base.clone().positions(vec![p])).collect(),
            };
            for iv in slices {
                let (logits, _) = self.model.run_with_hooks(corrupted, &[iv], NameFilter::None)?;
                let r = loss_accuracy(logits, targets)?;
                loss.push(r.loss);
                acc.push(r.accuracy);
            }
        }
        let (corrupted_logits, _) = self.model.run_with_hooks(corrupted, &[], NameFilter::None)?;
        let grid = |v: Vec<f32>| {
            let mut t = LabeledTensor::new(shape.clone(), v, &axes);
            if axes.contains(&"head") {
                t = t.label("head", (0..n_h).map(|h| format!("H{h}")).collect());
            }
            if axes.contains(&"pos") {
                t = t.label("pos", index_labels(n_p));
            }
            t
        };
        Ok(PatchResult {
            clean: loss_accuracy(self.logits.clone(), targets)?,
            corrupted: loss_accuracy(corrupted_logits, targets)?,
            loss: grid(loss),
            accuracy: grid(acc),
        })
    }
}
