//! Every neuron of a layer ablated on its own (zero or mean, as `ablate_neurons` does it) and
//! ranked by how much the task loss rises. The majority notebook picked its neurons by eye from
//! one heatmap; this finds the ones the model cannot do without.
//!
//! In the last layer no forward pass is needed: ablating neuron n moves only the final residual
//! stream, by −(a_n − a′_n)·W_out[n] (a′ = 0, or the batch mean at that position), so the scan
//! applies the final LayerNorm and the unembedding to the cached residual with that term taken
//! off, for a few neurons at a time. Neurons of earlier layers feed later blocks; those get one
//! ablated forward pass each.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::ablation::{Ablation, Target};
use super::labeled::{LabeledTensor, to_vec};
use super::metrics::{IGNORE, LossAccuracy, loss_accuracy};
use super::run::CachedRun;
use super::weights;
use crate::error::{Error, Result};
use crate::model::hooks::HookContext;

/// Values held at once by the last-layer scan (rows × neurons × d_model): about 16 MB.
const CHUNK_VALUES: usize = 1 << 22;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NeuronScan {
    pub baseline: LossAccuracy,
    /// Loss with each neuron ablated alone [neuron].
    pub loss: LabeledTensor,
    /// Accuracy with each neuron ablated alone [neuron].
    pub accuracy: LabeledTensor,
    /// Every neuron, the largest loss increase first.
    pub ranking: Vec<usize>,
}

impl CachedRun {
    pub fn neuron_ablation_scan(&self, layer: usize, kind: Ablation, targets: &[i64]) -> Result<NeuronScan> {
        let baseline = loss_accuracy(self.logits.clone(), targets)?;
        let (loss, accuracy) = if layer + 1 == self.cfg().n_layers {
            self.scan_last_layer(layer, kind, targets)?
        } else {
            let d_mlp = self.neuron_acts(layer)?.dims()[2];
            let mut loss = Vec::with_capacity(d_mlp);
            let mut acc = Vec::with_capacity(d_mlp);
            for n in 0..d_mlp {
                let r = self.measure(&[self.ablation(&Target::Neurons { layer, neurons: vec![n] }, kind)?], targets)?;
                loss.push(r.loss);
                acc.push(r.accuracy);
            }
            (loss, acc)
        };
        let mut ranking: Vec<usize> = (0..loss.len()).collect();
        ranking.sort_by(|&i, &j| loss[j].total_cmp(&loss[i]).then(i.cmp(&j)));
        let m = loss.len();
        Ok(NeuronScan {
            baseline,
            loss: LabeledTensor::new(vec![m], loss, &["neuron"]),
            accuracy: LabeledTensor::new(vec![m], accuracy, &["neuron"]),
            ranking,
        })
    }

    /// (loss, accuracy) per neuron of the last layer, from the cached final residual stream.
    fn scan_last_layer(&self, layer: usize, kind: Ablation, targets: &[i64]) -> Result<(Vec<f32>, Vec<f32>)> {
        let acts = self.neuron_acts(layer)?;
        let [b, p, m] = acts.dims();
        let rows = b * p;
        if targets.len() != rows {
            return Err(Error::Tokens(format!("{} targets for a [{b}, {p}] batch", targets.len())));
        }
        // What each neuron's ablation takes off: its activation, or its distance from the mean.
        let removed = match kind {
            Ablation::Zero => acts,
            Ablation::Mean => acts.clone() - acts.mean_dim(0),
        }
        .reshape([rows, m]);
        let w_out = weights::w_out(&self.model, layer)?; // [m, d]
        let d = w_out.dims()[1];
        let resid: Tensor<3> = self.act::<3>(&format!("blocks.{layer}.hook_resid_post"))?.reshape([rows, 1, d]);
        let device = self.device();
        let n_scored = targets.iter().filter(|&&t| t != IGNORE).count();
        if n_scored == 0 {
            return Err(Error::Tokens("no position has a target".into()));
        }
        let ids: Vec<i32> = targets.iter().map(|&t| t.max(0) as i32).collect();
        let mask: Vec<f32> = targets.iter().map(|&t| (t != IGNORE) as u8 as f32).collect();
        let idx = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, 1]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [rows, 1]), &device);
        let chunk = (CHUNK_VALUES / (rows * d)).clamp(1, m);
        let (mut loss, mut acc) = (Vec::with_capacity(m), Vec::with_capacity(m));
        let mut ctx = HookContext::silent();
        for start in (0..m).step_by(chunk) {
            let c = chunk.min(m - start);
            let delta = removed.clone().narrow(1, start, c).reshape([rows, c, 1]);
            let w = w_out.clone().narrow(0, start, c).reshape([1, c, d]);
            let mut x = resid.clone() - delta * w; // [rows, c, d]
            if let Some(ln) = &self.model.ln_final {
                x = ln.forward(x, &mut ctx);
            }
            let logits = self.model.unembed.forward(x, &mut ctx); // [rows, c, v]
            let at = idx.clone().reshape([rows, 1, 1]).repeat_dim(1, c);
            let lp = log_softmax(logits.clone(), 2).gather(2, at.clone()).reshape([rows, c]);
            let right = logits.argmax(2).equal(at).float().reshape([rows, c]);
            let n = n_scored as f32;
            loss.extend(to_vec((lp * mask.clone()).sum_dim(0).reshape([c]).neg() / n)?);
            acc.extend(to_vec((right * mask.clone()).sum_dim(0).reshape([c]) / n)?);
        }
        Ok((loss, acc))
    }
}
