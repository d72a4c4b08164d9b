//! Evaluation of a model on a batch, off the training path: the forward in chunks, the loss
//! and accuracy over the scored positions from the host logits, and the task's figures.
//! What `Trainer::evaluate`, `toylens eval` and the page's held-out curves report.

use burn::tensor::Tensor;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::HookedTransformer;
use crate::tasks::{Batch, IGNORE, Task};

/// Evaluates a model on a batch in chunks: (loss, accuracy, task figures).
pub fn evaluate(task: &dyn Task, model: &HookedTransformer, batch: &Batch) -> Result<(f32, f32, Value)> {
    let mut logits_all = vec![];
    for logits in eval_chunks(model, batch)? {
        let data = logits.into_data().convert::<f32>();
        logits_all.extend(data.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?);
    }
    Ok(eval_figures(task, model, batch, &logits_all))
}

/// `evaluate`, reading back without blocking (WebGPU in the browser).
pub async fn evaluate_async(task: &dyn Task, model: &HookedTransformer, batch: &Batch) -> Result<(f32, f32, Value)> {
    let mut logits_all = vec![];
    for logits in eval_chunks(model, batch)? {
        let data = logits.into_data_async().await.map_err(|e| Error::Backend(format!("{e:?}")))?.convert::<f32>();
        logits_all.extend(data.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?);
    }
    Ok(eval_figures(task, model, batch, &logits_all))
}

fn eval_chunks(model: &HookedTransformer, batch: &Batch) -> Result<Vec<Tensor<3>>> {
    batch.tokens.check(&model.cfg)?;
    let device = model.embed.W_E.val().device();
    let chunk = ((1 << 16) / batch.tokens.pos.max(1)).max(1);
    Ok((0..batch.len())
        .step_by(chunk)
        .map(|start| {
            let idx: Vec<usize> = (start..(start + chunk).min(batch.len())).collect();
            model.forward(batch.select(&idx).tokens.tensor(&device))
        })
        .collect())
}

fn eval_figures(task: &dyn Task, model: &HookedTransformer, batch: &Batch, logits: &[f32]) -> (f32, f32, Value) {
    let v = model.cfg.d_vocab_out;
    let (loss, acc) = host_loss_and_accuracy(logits, batch, v);
    (loss, acc, task.figures(batch, logits, v))
}

/// Mean loss and accuracy over scored positions, from host logits.
pub fn host_loss_and_accuracy(logits: &[f32], batch: &Batch, vocab: usize) -> (f32, f32) {
    let losses = super::loss::token_losses(logits, batch, vocab);
    let (mut n, mut sum, mut correct) = (0usize, 0f64, 0usize);
    for (i, &t) in batch.targets.iter().enumerate() {
        if t == IGNORE {
            continue;
        }
        n += 1;
        sum += losses[i] as f64;
        correct += (super::loss::argmax(&logits[i * vocab..(i + 1) * vocab]) as i64 == t) as usize;
    }
    let n = n.max(1) as f64;
    ((sum / n) as f32, (correct as f64 / n) as f32)
}
