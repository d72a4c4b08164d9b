//! The notebooks' loss: mean cross-entropy over scored positions, and accuracy over them.

use burn::tensor::{Int, Tensor, TensorData};

use crate::tasks::{Batch, IGNORE};
use crate::train::cross_entropy::cross_entropy;

/// The positions any row of `batch` scores, or None when every position is scored (or none
/// is: the full forward's masked loss then says so, as it did before positions were picked).
pub fn scored_positions(batch: &Batch) -> Option<Vec<usize>> {
    let p = batch.tokens.pos;
    let scored = scored_columns(&batch.targets, p);
    (!scored.is_empty() && scored.len() < p).then_some(scored)
}

/// The positions any row of `targets` ([rows, pos], row-major) scores, ascending.
pub fn scored_columns(targets: &[i64], pos: usize) -> Vec<usize> {
    (0..pos).filter(|&j| targets.iter().skip(j).step_by(pos).any(|&t| t != IGNORE)).collect()
}

/// Targets at `positions` (all when None) as device tensors: class ids (0 where ignored) and
/// a 0/1 mask, both [batch, positions].
pub fn target_tensors(
    batch: &Batch,
    positions: Option<&[usize]>,
    device: &burn::tensor::Device,
) -> (Tensor<2, Int>, Tensor<2>) {
    let (b, p) = (batch.tokens.batch, batch.tokens.pos);
    let all: Vec<usize> = (0..p).collect();
    let cols = positions.unwrap_or(&all);
    let picked = || (0..b).flat_map(move |r| cols.iter().map(move |&c| batch.targets[r * p + c]));
    let ids: Vec<i32> = picked().map(|t| if t == IGNORE { 0 } else { t as i32 }).collect();
    let mask: Vec<f32> = picked().map(|t| if t == IGNORE { 0.0 } else { 1.0 }).collect();
    let shape = [b, cols.len()];
    (Tensor::from_data(TensorData::new(ids, shape), device), Tensor::from_data(TensorData::new(mask, shape), device))
}

/// (mean loss, accuracy) as scalar tensors, so the caller decides when to read them back.
pub fn loss_and_accuracy(logits: Tensor<3>, targets: Tensor<2, Int>, mask: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let s = scores(logits, targets, mask);
    (s.loss, s.accuracy)
}

/// A batch's loss: its mean, accuracy and each position's own.
pub struct Scores {
    pub loss: Tensor<1>,
    pub accuracy: Tensor<1>,
    /// Each position's cross-entropy [batch, positions], 0 where masked out.
    pub nll: Tensor<2>,
}

pub fn scores(logits: Tensor<3>, targets: Tensor<2, Int>, mask: Tensor<2>) -> Scores {
    let [b, p, v] = logits.dims();
    let count = mask.clone().sum();
    let nll = cross_entropy(logits.clone().reshape([b * p, v]), targets.clone().reshape([b * p])).reshape([b, p])
        * mask.clone();
    let loss = nll.clone().sum() / count.clone();
    let correct = logits.argmax(2).reshape([b, p]).equal(targets).float() * mask;
    let accuracy = correct.sum() / count;
    Scores { loss, accuracy, nll }
}

/// `nll` [batch, cols] at `cols` (all positions when None) spread over all `pos` positions
/// of each row, 0 elsewhere: the per-position losses a task's step figures read.
pub fn spread(nll: &[f32], batch: usize, pos: usize, cols: Option<&[usize]>) -> Vec<f32> {
    let Some(cols) = cols else { return nll.to_vec() };
    let mut full = vec![0f32; batch * pos];
    for r in 0..batch {
        for (k, &c) in cols.iter().enumerate() {
            full[r * pos + c] = nll[r * cols.len() + k];
        }
    }
    full
}

/// The first largest logit of a host row, as torch's argmax picks on ties: the one argmax of
/// the host-side scores (the task figures, the analyses' digit tables, evaluation).
pub fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().rev().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// Per-position losses [batch, pos] (0 where ignored), for the task figures.
pub fn token_losses(logits: &[f32], batch: &Batch, vocab: usize) -> Vec<f32> {
    batch
        .targets
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            if t == IGNORE {
                return 0.0;
            }
            let row = &logits[i * vocab..(i + 1) * vocab];
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let lse = max + row.iter().map(|x| (x - max).exp()).sum::<f32>().ln();
            lse - row[t as usize]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[0.0, -1.0]), 0);
        assert_eq!(argmax(&[-1.0, 0.0]), 1);
    }
}
