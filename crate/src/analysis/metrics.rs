//! Loss and accuracy as the notebooks measure them: mean cross-entropy over the positions whose
//! target is set (≠ −1) and the fraction of those where argmax(logits) == target; plus the
//! per-position numbers the cumsum and sorting notebooks plot.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::labeled::{LabeledTensor, to_vec};
use crate::error::{Error, Result};

/// Marks a position that is not scored (the tasks' marker).
pub use crate::tasks::IGNORE;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossAccuracy {
    pub loss: f32,
    pub accuracy: f32,
    /// Number of scored positions.
    pub n_scored: usize,
}

/// Each position's target the next token (a language model's), unscored (−1) at the last
/// position and where the next token is not an output class.
pub fn next_token_targets(t: &crate::model::Tokens, d_vocab_out: usize) -> Vec<i64> {
    let mut out = vec![IGNORE; t.ids.len()];
    for b in 0..t.batch {
        for p in 0..t.pos.saturating_sub(1) {
            let next = t.ids[b * t.pos + p + 1];
            if (0..d_vocab_out as i64).contains(&next) {
                out[b * t.pos + p] = next;
            }
        }
    }
    out
}

/// The number of scored positions of `targets` for a [b, p] batch with `v` outputs, once
/// they are checked: one per position, each −1 or in 0..v, at least one scored.
pub(crate) fn scored_count(targets: &[i64], b: usize, p: usize, v: usize) -> Result<usize> {
    if targets.len() != b * p {
        return Err(Error::Tokens(format!("{} targets for a [{b}, {p}] batch", targets.len())));
    }
    if let Some(t) = targets.iter().find(|&&t| t != IGNORE && (t < 0 || t as usize >= v)) {
        return Err(Error::Tokens(format!("target {t} is outside 0..{v} (and not -1)")));
    }
    let n = targets.iter().filter(|&&t| t != IGNORE).count();
    if n == 0 {
        return Err(Error::Tokens("no position has a target".into()));
    }
    Ok(n)
}

/// Targets as an index tensor [b, p, 1] (unscored → 0) and a 0/1 mask [b, p].
fn target_index(
    targets: &[i64],
    b: usize,
    p: usize,
    v: usize,
    device: &burn::tensor::Device,
) -> Result<(Tensor<3, Int>, Tensor<2>, usize)> {
    let n = scored_count(targets, b, p, v)?;
    let ids: Vec<i32> = targets.iter().map(|&t| t.max(0) as i32).collect();
    let mask: Vec<f32> = targets.iter().map(|&t| (t != IGNORE) as u8 as f32).collect();
    Ok((
        Tensor::from_data(TensorData::new(ids, [b, p, 1]), device),
        Tensor::from_data(TensorData::new(mask, [b, p]), device),
        n,
    ))
}

/// The logits of the scored positions [n, v] (in row-major order) and their targets [n]:
/// loss, accuracy and probabilities read only these rows, and the unscored ones are most of a
/// batch on several tasks (min scores 1 position of 3, addition 6 of 18).
fn scored_logits(logits: Tensor<3>, targets: &[i64]) -> Result<(Tensor<2>, Tensor<1, Int>, usize)> {
    let [b, p, v] = logits.dims();
    let device = logits.device();
    let n = scored_count(targets, b, p, v)?;
    let rows: Vec<i32> = (0..b * p).filter(|&i| targets[i] != IGNORE).map(|i| i as i32).collect();
    let ids: Vec<i32> = targets.iter().filter(|&&t| t != IGNORE).map(|&t| t as i32).collect();
    let flat = logits.reshape([b * p, v]);
    let picked = if n == b * p { flat } else { flat.select(0, Tensor::from_data(TensorData::new(rows, [n]), &device)) };
    Ok((picked, Tensor::from_data(TensorData::new(ids, [n]), &device), n))
}

/// The training loss's scores (crate::train::loss::scores) of the scored positions only.
fn scored_scores(logits: Tensor<3>, targets: &[i64]) -> Result<(crate::train::loss::Scores, usize)> {
    let (picked, ids, n) = scored_logits(logits, targets)?;
    let v = picked.dims()[1];
    let mask = Tensor::ones([1, n], &picked.device());
    // The training loss itself, so analyses and training measure alike.
    Ok((crate::train::loss::scores(picked.reshape([1, n, v]), ids.reshape([1, n]), mask), n))
}

/// (loss, accuracy) as one-element tensors, left on the device.
pub fn loss_accuracy_tensors(logits: Tensor<3>, targets: &[i64]) -> Result<(Tensor<1>, Tensor<1>, usize)> {
    let (s, n) = scored_scores(logits, targets)?;
    Ok((s.loss, s.accuracy, n))
}

pub fn loss_accuracy(logits: Tensor<3>, targets: &[i64]) -> Result<LossAccuracy> {
    let (loss, acc, n) = loss_accuracy_tensors(logits, targets)?;
    Ok(LossAccuracy { loss: to_vec(loss)?[0], accuracy: to_vec(acc)?[0], n_scored: n })
}

/// The cumsum notebook's summary of the probability on the correct label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrectProb {
    pub loss: f32,
    pub accuracy: f32,
    pub mean_prob: f32,
    /// torch's median: the lower of the two middle values for an even count.
    pub median_prob: f32,
    pub min_prob: f32,
    pub n_scored: usize,
}

pub fn correct_prob(logits: Tensor<3>, targets: &[i64]) -> Result<CorrectProb> {
    // One cross-entropy over the scored rows gives the loss, and exp(−nll) each probability.
    let (s, _) = scored_scores(logits, targets)?;
    let mut probs: Vec<f32> = to_vec(s.nll)?.iter().map(|l| (-l).exp()).collect();
    probs.sort_by(f32::total_cmp);
    let n = probs.len();
    Ok(CorrectProb {
        loss: to_vec(s.loss)?[0],
        accuracy: to_vec(s.accuracy)?[0],
        mean_prob: (probs.iter().map(|&p| p as f64).sum::<f64>() / n as f64) as f32,
        median_prob: probs[(n - 1) / 2],
        min_prob: probs[0],
        n_scored: n,
    })
}

/// Per position (NaN where unscored): the target's logit, its logit minus the mean logit, its
/// log-probability, plus the argmax prediction — the sorting notebook's three heatmaps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetTokenStats {
    pub logit: LabeledTensor,
    pub centered_logit: LabeledTensor,
    pub log_prob: LabeledTensor,
    pub predicted: LabeledTensor,
    pub target: LabeledTensor,
}

pub fn target_token_stats(logits: Tensor<3>, targets: &[i64]) -> Result<TargetTokenStats> {
    let [b, p, v] = logits.dims();
    let (idx, _, _) = target_index(targets, b, p, v, &logits.device())?;
    let predicted = logits.clone().argmax(2).float().reshape([b, p]);
    let centered = logits.clone() - logits.clone().mean_dim(2);
    let logit = logits.clone().gather(2, idx.clone()).reshape([b, p]);
    let centered = centered.gather(2, idx.clone()).reshape([b, p]);
    let log_prob = log_softmax(logits, 2).gather(2, idx).reshape([b, p]);
    let axes = ["batch", "pos"];
    let masked = |t: Tensor<2>| -> Result<LabeledTensor> {
        let mut x = LabeledTensor::read(t, &axes)?;
        for (v, &tg) in x.values.iter_mut().zip(targets) {
            if tg == IGNORE {
                *v = f32::NAN;
            }
        }
        Ok(x)
    };
    Ok(TargetTokenStats {
        logit: masked(logit)?,
        centered_logit: masked(centered)?,
        log_prob: masked(log_prob)?,
        predicted: LabeledTensor::read(predicted, &axes)?,
        target: LabeledTensor::new(
            vec![b, p],
            targets.iter().map(|&t| if t == IGNORE { f32::NAN } else { t as f32 }).collect(),
            &axes,
        ),
    })
}
