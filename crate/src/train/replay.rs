//! Replays a reference training run — PyTorch's, written by
//! `tests/fixtures/make_training_fixtures.py` — from its initial weights and batches, and
//! measures how far the engine's loss, gradients and updated weights are from it after each
//! step. The native tests and the browser's smoke page both hold the engine to those fixtures
//! through this one function, so both run the same comparison on the same training code
//! (`Trainer::step_on`, the path every real step takes).

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::recipe::{InitKind, Optim, Recipe, Schedule, Target};
use super::trainer::Trainer;
use crate::error::{Error, Result};
use crate::io::safetensors::{HostData, HostTensor, read_state_dict, read_tensors};
use crate::model::{HookedTransformer, HookedTransformerConfig, Tokens};
use crate::tasks::{self, Batch};

/// `meta.json` of a fixture: what the reference run did.
#[derive(Clone, Debug, Deserialize)]
pub struct Meta {
    pub name: String,
    pub steps: usize,
    pub batch: usize,
    pub pos: usize,
    pub optim: Optim,
}

/// One parameter at one step: the largest |engine − reference| of its gradient and of its
/// value after the update, beside the reference's largest |gradient| (a gradient that is
/// rounding noise, like `attn.b_K`'s, whose true value is 0, makes Adam's step noise too).
#[derive(Clone, Debug, Serialize)]
pub struct ParamDiff {
    pub name: String,
    pub grad: f32,
    pub after: f32,
    pub reference_grad: f32,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepDiff {
    pub step: usize,
    pub loss: f32,
    pub reference_loss: f32,
    pub params: Vec<ParamDiff>,
}

/// A replay's differences and what of them is beyond the tolerances (`failures`).
#[derive(Clone, Debug, Serialize)]
pub struct Replay {
    pub name: String,
    pub steps: Vec<StepDiff>,
    pub failures: Vec<String>,
}

/// What is beyond the tolerances, `scale` times looser on a backend with other float kernels:
/// the loss 1e-5; a gradient 1e-6 + 1e-4 × the reference's largest |gradient|; a weight after
/// a step 5e-5, except where the reference gradient is rounding noise (under 1e-7): Adam
/// scales noise up into a step of up to lr, in PyTorch and in the engine each from its own.
pub fn failures(steps: &[StepDiff], lr: f32, scale: f32) -> Vec<String> {
    let mut out = vec![];
    for s in steps {
        if (s.loss - s.reference_loss).abs() > 1e-5 * scale || s.loss.is_nan() {
            out.push(format!("step {}: loss {} against {}", s.step, s.loss, s.reference_loss));
        }
        for p in &s.params {
            let noise = p.reference_grad < 1e-7;
            if p.grad.is_nan() || p.grad > (1e-6 + 1e-4 * p.reference_grad) * scale {
                out.push(format!("step {} {}: gradient off by {}", s.step, p.name, p.grad));
            }
            let bound = if noise { 2.0 * lr * (s.step + 1) as f32 } else { 5e-5 * scale };
            if p.after.is_nan() || p.after > bound {
                out.push(format!(
                    "step {} {}: weight after the step off by {} (bound {bound})",
                    s.step, p.name, p.after
                ));
            }
        }
    }
    out
}

/// Replays the fixture given by its files' contents on `device` and judges it (`failures`,
/// `scale` as there).
pub async fn replay(
    config: &str,
    init: &[u8],
    steps: &[u8],
    meta: &str,
    device: &Device,
    scale: f32,
) -> Result<Replay> {
    let meta: Meta = serde_json::from_str(meta).map_err(|e| Error::Config(format!("training fixture meta: {e}")))?;
    let cfg = HookedTransformerConfig::from_json_str(config)?;
    let reference = read_tensors(steps)?;
    let get = |key: String| reference.get(&key).ok_or_else(|| Error::Weights(format!("{}: no {key}", meta.name)));
    let recipe = Recipe {
        optim: meta.optim.clone(),
        schedule: Schedule::Constant,
        batch_size: meta.batch,
        steps: meta.steps,
        seed: 0,
        init: InitKind::TransformerLens,
        freeze: None,
        target: Target::default(),
        eval_every: 0,
    };
    let device = device.clone().autodiff();
    let model = HookedTransformer::from_state_dict(&cfg, &read_state_dict(init)?, &device)?;
    // A trainer needs a task for its own data and held-out set; neither is used here (every
    // step is on the reference's batch), so any task will do.
    let mut trainer = Trainer::with_model(tasks::by_id("sorting")?, cfg, recipe, &device, model)?;
    let mut out = vec![];
    for k in 0..meta.steps {
        let ints = |t: &HostTensor| match &t.data {
            HostData::I64(v) => Ok(v.clone()),
            HostData::F32(_) => Err(Error::Weights(format!("{}: step {k}'s batch is not integers", meta.name))),
        };
        let tokens = Tokens::new(meta.batch, meta.pos, ints(get(format!("step{k}.tokens"))?)?)?;
        let targets = ints(get(format!("step{k}.targets"))?)?;
        let batch = Batch { tokens, targets };
        let (loss, grads) = trainer.gradients_async(&batch).await?;
        trainer.step_on_async(&batch).await?;
        let after: BTreeMap<String, Vec<f32>> =
            trainer.model().state_dict_async().await?.into_iter().map(|t| (t.name, t.values)).collect();
        let mut params = vec![];
        for (name, g) in grads {
            let want_g = get(format!("step{k}.grad.{name}"))?.to_f32();
            let want_after = get(format!("step{k}.after.{name}"))?.to_f32();
            let mine = after.get(&name).ok_or_else(|| Error::Weights(format!("the engine has no {name}")))?;
            params.push(ParamDiff {
                grad: max_diff(&g, &want_g)?,
                after: max_diff(mine, &want_after)?,
                reference_grad: want_g.iter().fold(0f32, |m, x| m.max(x.abs())),
                name,
            });
        }
        let reference_loss = get(format!("step{k}.loss"))?.to_f32()[0];
        out.push(StepDiff { step: k, loss, reference_loss, params });
    }
    let failures = failures(&out, meta.optim.lr() as f32, scale);
    Ok(Replay { name: meta.name, steps: out, failures })
}

/// The largest |a − b| (NaN when either holds a NaN: a NaN must fail the comparison).
fn max_diff(a: &[f32], b: &[f32]) -> Result<f32> {
    if a.len() != b.len() {
        return Err(Error::Weights(format!("{} values against the reference's {}", a.len(), b.len())));
    }
    Ok(a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, |m, d| if d.is_nan() || m.is_nan() { f32::NAN } else { m.max(d) }))
}
