//! Interventions as measurements: the task loss and accuracy after zero- or mean-ablating a head
//! (its `hook_z`), a set of neurons (`mlp.hook_post`), a whole component (`hook_attn_out`,
//! `hook_mlp_out`, …), or after making attention uniform over the visible positions.
//! Mean ablation uses the batch mean at each position, as TL users usually write it.

use serde::{Deserialize, Serialize};

use super::labeled::LabeledTensor;
use super::metrics::{LossAccuracy, loss_accuracy};
use super::run::CachedRun;
use crate::error::{Error, Result};
use crate::model::{CachedTensor, HookAction, Intervention, NameFilter};

#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ablation {
    Zero,
    Mean,
}

/// What to ablate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Head {
        layer: usize,
        head: usize,
    },
    Neurons {
        layer: usize,
        neurons: Vec<usize>,
    },
    /// Any cached hook by TL name, e.g. `blocks.0.hook_mlp_out`.
    Component {
        hook: String,
    },
    /// Uniform causal attention in a layer, for some heads (all when `None`).
    UniformAttention {
        layer: usize,
        heads: Option<Vec<usize>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AblationResult {
    pub baseline: LossAccuracy,
    pub ablated: LossAccuracy,
}

impl CachedRun {
    /// The batch mean of a cached activation, shaped as `HookAction::Mean` wants it.
    fn batch_mean(&self, hook: &str) -> Result<CachedTensor> {
        let c = self.cache.get(hook).ok_or_else(|| Error::Hook(format!("{hook} is not in the cache")))?;
        let (b, rest) = (c.shape[0], c.shape[1..].to_vec());
        let n: usize = rest.iter().product();
        let mean = c.flat.clone().reshape([b, n]).mean_dim(0).reshape([n]);
        Ok(CachedTensor { shape: rest, flat: mean })
    }

    /// The engine intervention that performs an ablation.
    pub fn ablation(&self, target: &Target, kind: Ablation) -> Result<Intervention> {
        let action = |hook: &str| -> Result<HookAction> {
            Ok(match kind {
                Ablation::Zero => HookAction::Zero,
                Ablation::Mean => HookAction::Mean(self.batch_mean(hook)?),
            })
        };
        Ok(match target {
            Target::Head { layer, head } => {
                let hook = format!("blocks.{layer}.attn.hook_z");
                Intervention::new(&hook, action(&hook)?).heads(vec![*head])
            }
            Target::Neurons { layer, neurons } => {
                self.require_mlp()?;
                let hook = format!("blocks.{layer}.mlp.hook_post");
                Intervention::new(&hook, action(&hook)?).neurons(neurons.clone())
            }
            Target::Component { hook } => Intervention::new(hook, action(hook)?),
            Target::UniformAttention { layer, heads } => {
                let iv = Intervention::new(format!("blocks.{layer}.attn.hook_pattern"), HookAction::UniformCausal);
                match heads {
                    Some(h) => iv.heads(h.clone()),
                    None => iv,
                }
            }
        })
    }

    /// Loss and accuracy on this run's tokens with `interventions` applied.
    pub fn measure(&self, interventions: &[Intervention], targets: &[i64]) -> Result<LossAccuracy> {
        let (logits, _) = self.model.run_with_hooks(&self.tokens, interventions, NameFilter::None)?;
        loss_accuracy(logits, targets)
    }

    /// Argmax predictions [batch, pos] without and with an ablation (the majority notebook's
    /// "original / ablated model prediction" printout).
    pub fn ablated_predictions(&self, target: &Target, kind: Ablation) -> Result<AblatedPredictions> {
        let (logits, _) = self.model.run_with_hooks(&self.tokens, &[self.ablation(target, kind)?], NameFilter::None)?;
        let [b, p, _] = logits.dims();
        let read =
            |t: burn::tensor::Tensor<3>| LabeledTensor::read(t.argmax(2).float().reshape([b, p]), &["batch", "pos"]);
        Ok(AblatedPredictions { baseline: read(self.logits.clone())?, ablated: read(logits)? })
    }

    /// The logits without and with `target` ablated, and ablated − baseline
    /// [batch, pos, d_vocab_out] each: the effect of a head or neurons on every logit.
    pub fn ablated_logits(&self, target: &Target, kind: Ablation) -> Result<AblatedLogits> {
        let (logits, _) = self.model.run_with_hooks(&self.tokens, &[self.ablation(target, kind)?], NameFilter::None)?;
        let read = |t| LabeledTensor::read(t, &["batch", "pos", "output_token"]);
        Ok(AblatedLogits {
            baseline: read(self.logits.clone())?,
            change: read(logits.clone() - self.logits.clone())?,
            ablated: read(logits)?,
        })
    }

    pub fn ablate(&self, target: &Target, kind: Ablation, targets: &[i64]) -> Result<AblationResult> {
        Ok(AblationResult {
            baseline: loss_accuracy(self.logits.clone(), targets)?,
            ablated: self.measure(&[self.ablation(target, kind)?], targets)?,
        })
    }

    /// Every head ablated in turn: loss and accuracy [n_layers, n_heads] (attribution per head).
    pub fn head_ablation_scan(&self, kind: Ablation, targets: &[i64]) -> Result<HeadScan> {
        let (n_l, n_h) = (self.cfg().n_layers, self.cfg().n_heads);
        let (mut loss, mut acc) = (vec![], vec![]);
        for layer in 0..n_l {
            for head in 0..n_h {
                let r = self.measure(&[self.ablation(&Target::Head { layer, head }, kind)?], targets)?;
                loss.push(r.loss);
                acc.push(r.accuracy);
            }
        }
        let grid = |v| {
            LabeledTensor::new(vec![n_l, n_h], v, &["layer", "head"])
                .label("head", (0..n_h).map(|h| format!("H{h}")).collect())
        };
        Ok(HeadScan { baseline: loss_accuracy(self.logits.clone(), targets)?, loss: grid(loss), accuracy: grid(acc) })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AblatedLogits {
    pub baseline: LabeledTensor,
    pub ablated: LabeledTensor,
    /// ablated − baseline.
    pub change: LabeledTensor,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AblatedPredictions {
    pub baseline: LabeledTensor,
    pub ablated: LabeledTensor,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HeadScan {
    pub baseline: LossAccuracy,
    pub loss: LabeledTensor,
    pub accuracy: LabeledTensor,
}
