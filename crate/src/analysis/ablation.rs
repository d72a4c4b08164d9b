//! Interventions as measurements: the task loss and accuracy after zero- or mean-ablating a head
//! (its `hook_z`), a set of neurons (`mlp.hook_post`), a whole component (`hook_attn_out`,
//! `hook_mlp_out`, …), or after making attention uniform over the visible positions.
//! Mean ablation uses the batch mean at each position, as TL users usually write it.

use serde::{Deserialize, Serialize};

use burn::tensor::Tensor;

use super::labeled::LabeledTensor;
use super::metrics::{LossAccuracy, loss_accuracy};
use super::run::{CachedRun, Positions, index_tensor};
use super::weights;
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
        let mean = c.flat().reshape([b, n]).mean_dim(0).reshape([n]);
        Ok(CachedTensor::from_flat(rest, mean))
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
        let logits = self.ablated_at(target, kind, &(0..self.pos()).collect::<Vec<_>>())?;
        let [b, p, _] = logits.dims();
        let read =
            |t: burn::tensor::Tensor<3>| LabeledTensor::read(t.argmax(2).float().reshape([b, p]), &["batch", "pos"]);
        Ok(AblatedPredictions { baseline: read(self.logits.clone())?, ablated: read(logits)? })
    }

    /// The logits without and with `target` ablated, and ablated − baseline
    /// [batch, pos, d_vocab_out] each: the effect of a head or neurons on every logit.
    pub fn ablated_logits(&self, target: &Target, kind: Ablation) -> Result<AblatedLogits> {
        let logits = self.ablated_at(target, kind, &(0..self.pos()).collect::<Vec<_>>())?;
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
            ablated: self.measure_ablated(target, kind, targets)?,
        })
    }

    /// Loss and accuracy with `target` ablated: `measure` of its intervention, computed at the
    /// scored positions only and from the cache where it can be (`ablated_logits_at`).
    pub fn measure_ablated(&self, target: &Target, kind: Ablation, targets: &[i64]) -> Result<LossAccuracy> {
        let (b, p) = (self.batch(), self.pos());
        if targets.len() != b * p {
            return Err(Error::Tokens(format!("{} targets for {b}×{p} positions", targets.len())));
        }
        let at = crate::train::loss::scored_columns(targets, p);
        if at.is_empty() {
            return self.measure(&[self.ablation(target, kind)?], targets);
        }
        let kept: Vec<i64> = (0..b).flat_map(|e| at.iter().map(move |&j| targets[e * p + j])).collect();
        loss_accuracy(self.ablated_at(target, kind, &at)?, &kept)
    }

    /// The logits at `positions` [batch, positions, d_vocab_out] with `target` ablated: from the
    /// cache when `ablated_logits_at` can, else a full run.
    pub fn ablated_at(&self, target: &Target, kind: Ablation, positions: &[usize]) -> Result<Tensor<3>> {
        if let Some(l) = self.ablated_logits_at(target, kind, positions)? {
            return Ok(l);
        }
        let (logits, _) = self.model.run_with_hooks(&self.tokens, &[self.ablation(target, kind)?], NameFilter::None)?;
        Ok(Positions::Only(positions.to_vec()).apply(logits, 1))
    }

    /// The same from this run's cache, when `target` is in the last block: a head (its `hook_z`),
    /// neurons (their `hook_post`), the block's whole attention output or its MLP output. Everything before the ablated
    /// part is as cached, and a head's output enters the residual stream linearly (z·W_O), so
    /// only what follows it runs again, at `positions` only (the rest is per position):
    /// addition's ablations cost its MLP at 6 of 18 positions instead of a forward each.
    /// None for any other target (a full run then).
    pub fn ablated_logits_at(&self, target: &Target, kind: Ablation, positions: &[usize]) -> Result<Option<Tensor<3>>> {
        let Some(last) = self.cfg().n_layers.checked_sub(1) else { return Ok(None) };
        let pick = |t: Tensor<3>| Positions::Only(positions.to_vec()).apply(t, 1);
        // What the ablation puts in place of `t` ([batch, …]): zeros, or its batch mean.
        fn replaced<const D: usize>(t: Tensor<D>, kind: Ablation) -> Tensor<D> {
            match kind {
                Ablation::Zero => t.zeros_like(),
                Ablation::Mean => {
                    let dims = t.dims();
                    t.mean_dim(0).expand(dims)
                }
            }
        }
        let hook = |name: &str| format!("blocks.{last}.{name}");
        let mid = || -> Result<Tensor<3>> {
            Ok(self.act::<3>(&hook("hook_resid_pre"))? + self.act::<3>(&hook("hook_attn_out"))?)
        };
        Ok(Some(match target {
            Target::Head { layer, head } if *layer == last && *head < self.cfg().n_heads => {
                let z: Tensor<4> = self.act(&hook("attn.hook_z"))?; // [b, p, h, dh]
                let [b, p, _, dh] = z.dims();
                let z_h = z.slice([0..b, 0..p, *head..*head + 1, 0..dh]).reshape([b, p, dh]);
                let w_o = weights::w_o(&self.model, last)?; // [h, dh, d]
                let d = w_o.dims()[2];
                let w_o_h = w_o.slice([*head..*head + 1, 0..dh, 0..d]).reshape([dh, d]);
                // The change to the head's output, at `positions` (the mean is over all rows first).
                let dz = pick(replaced(z_h.clone(), kind) - z_h.clone()); // [b, n, dh]
                let n = dz.dims()[1];
                let dz = dz.reshape([b * n, dh]);
                let mid = pick(mid()?) + dz.matmul(w_o_h.clone()).reshape([b, n, d]);
                let w_o_in_name = format!("blocks.{last}.W_O^{head}·W_in");
                match self.model.folded_mlp() {
                    // The MLP's input moves by dz·W_O^h, its pre-activation by dz·(W_O^h·W_in):
                    // a d_head-wide product per row instead of a d_model-wide one, once the
                    // rows outweigh forming W_O^h·W_in (dh·d·m flops; addition: from 171 rows),
                    // which the runs of this model then share (zero and mean, 64 sums then 32).
                    // Decided by the rows alone: a figure's values never depend on what ran before.
                    Some(mlp) if b * n * (d - dh.min(d)) > dh * d => {
                        let w_in = mlp.W_in.val();
                        let m = w_in.dims()[1];
                        let pre: Tensor<3> = pick(self.act(&hook("mlp.hook_pre"))?);
                        let w_o_in = self.derived(&w_o_in_name, || Ok(w_o_h.matmul(w_in)))?;
                        // dz·M = replaced(z)·M − z·M: the head's own part z·M (b·n rows) is
                        // formed once for this run and both kinds; a mean's part is one row per position.
                        let z_m = self.product(&format!("{w_o_in_name}@{positions:?}"), || {
                            Ok(pick(z_h.clone()).reshape([b * n, dh]).matmul(w_o_in.clone()).reshape([b, n, m]))
                        })?;
                        let pre = match kind {
                            Ablation::Zero => pre - z_m,
                            Ablation::Mean => {
                                let mean = pick(z_h.mean_dim(0)).reshape([n, dh]).matmul(w_o_in).reshape([1, n, m]);
                                pre - z_m + mean.expand([b, n, m])
                            }
                        };
                        let out_u =
                            self.derived(&format!("blocks.{last}.W_out·W_U"), || Ok(self.model.folded_out_u(mlp)))?;
                        self.model.folded_logits(mlp, &out_u, mid, pre)
                    }
                    _ => self.model.logits_from_last_mid(mid),
                }
            }
            Target::Component { hook: name } if *name == hook("hook_attn_out") => {
                let attn_out: Tensor<3> = self.act(name)?;
                let resid_pre: Tensor<3> = self.act(&hook("hook_resid_pre"))?;
                self.model.logits_from_last_mid(pick(resid_pre + replaced(attn_out, kind)))
            }
            // A neuron's output enters linearly too: mlp_out = hook_post · W_out + b_out.
            Target::Neurons { layer, neurons } if *layer == last && self.cfg().has_mlp() => {
                let post: Tensor<3> = self.act(&hook("mlp.hook_post"))?; // [b, p, m]
                let [b, _, m] = post.dims();
                if neurons.is_empty() || neurons.iter().any(|&n| n >= m) {
                    return Ok(None); // the full run says what is wrong
                }
                let idx = index_tensor(neurons, &post.device());
                let sel = post.select(2, idx.clone()); // [b, p, k]
                let w_out = weights::w_out(&self.model, last)?.select(0, idx); // [k, d]
                let [k, d] = w_out.dims();
                let delta = (replaced(sel.clone(), kind) - sel).matmul(w_out.reshape([1, k, d]).expand([b, k, d]));
                let mlp_out: Tensor<3> = self.act(&hook("hook_mlp_out"))?;
                self.model.logits_from_last_post(pick(mid()? + mlp_out + delta))
            }
            // The MLP's output enters linearly, so its batch mean is mean(hook_post)·W_out + b_out:
            // its d_model-wide output itself (deferred in a scored run) is never formed.
            Target::Component { hook: name } if *name == hook("hook_mlp_out") && self.cfg().has_mlp() => {
                let mid = pick(mid()?);
                match kind {
                    Ablation::Zero => self.model.logits_from_last_post(mid),
                    Ablation::Mean => {
                        let post: Tensor<3> = pick(self.act(&hook("mlp.hook_post"))?); // [b, n, m]
                        let [b, n, m] = post.dims();
                        let (w_out, b_out) = (weights::w_out(&self.model, last)?, weights::b_out(&self.model, last)?);
                        let d = w_out.dims()[1];
                        let mean = post.mean_dim(0).reshape([n, m]).matmul(w_out) + b_out.reshape([1, d]);
                        self.model.logits_from_last_post(mid + mean.reshape([1, n, d]).expand([b, n, d]))
                    }
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Every head ablated in turn: loss and accuracy [n_layers, n_heads] (attribution per head).
    pub fn head_ablation_scan(&self, kind: Ablation, targets: &[i64]) -> Result<HeadScan> {
        let (n_l, n_h) = (self.cfg().n_layers, self.cfg().n_heads);
        let (mut loss, mut acc) = (vec![], vec![]);
        for layer in 0..n_l {
            for head in 0..n_h {
                let r = self.measure_ablated(&Target::Head { layer, head }, kind, targets)?;
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
