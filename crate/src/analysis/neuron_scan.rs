//! Every neuron of a layer ablated on its own (zero or mean, as `ablate_neurons` does it) and
//! ranked by how much the task loss rises. The majority notebook picked its neurons by eye from
//! one heatmap; this finds the ones the model cannot do without.
//!
//! In the last layer no forward pass is needed: ablating neuron n moves only the final residual
//! stream, by −δ_n·w_n with δ_n = a_n − a′_n (a′ = 0, or the batch mean at that position) and
//! w_n = W_out[n]. The final LayerNorm and the unembedding of r − δ_n·w_n follow in closed form
//! from products of r and w (see `scan_last_layer`), so no [rows, neurons, d_model] tensor is
//! built. Neurons of earlier layers feed later blocks; those get one ablated forward each.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::ablation::{Ablation, Target};
use super::labeled::{LabeledTensor, to_vec};
use super::metrics::{IGNORE, LossAccuracy, loss_accuracy, scored_count};
use super::run::CachedRun;
use super::weights;
use crate::error::Result;

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
    ///
    /// With r̃ = r − mean(r) and w̃_n = w_n − mean(w_n) (TL's LayerNorm centres, then divides by
    /// σ = sqrt(mean(x²) + eps), then applies g and b), the ablated logits are
    ///   (A − δ_n·B_n) / σ_n + c,  A = (r̃⊙g)·W_U,  B_n = (w̃_n⊙g)·W_U,  c = b·W_U + b_U,
    ///   σ_n² = (|r̃|² − 2δ_n·r̃·w̃_n + δ_n²·|w̃_n|²) / d + eps;
    /// without a final LayerNorm, r·W_U − δ_n·w_n·W_U + b_U. Each term is a product of [rows, d]
    /// and [neurons, d] matrices: the scan costs [rows, neurons, d_vocab_out] values instead of
    /// [rows, neurons, d_model] passed through LayerNorm and the unembedding.
    fn scan_last_layer(&self, layer: usize, kind: Ablation, targets: &[i64]) -> Result<(Vec<f32>, Vec<f32>)> {
        let acts = self.neuron_acts(layer)?;
        let [b, p, m] = acts.dims();
        let rows = b * p;
        // What each neuron's ablation takes off: its activation, or its distance from the mean.
        let delta = match kind {
            Ablation::Zero => acts,
            Ablation::Mean => acts.clone() - acts.mean_dim(0),
        }
        .reshape([rows, m]);
        let w = weights::w_out(&self.model, layer)?; // [m, d]
        let d = w.dims()[1];
        let r: Tensor<2> = self.act::<3>(&format!("blocks.{layer}.hook_resid_post"))?.reshape([rows, d]);
        let w_u = weights::w_u(&self.model); // [d, v]
        let v = w_u.dims()[1];
        let n_scored = scored_count(targets, b, p, v)?;
        let b_u = weights::b_u(&self.model).reshape([1, 1, v]);
        // (A [rows, v], B [m, v], c [1, 1, v], σ² as (|r̃|² [rows, 1], r̃·w̃ [rows, m], |w̃|² [1, m]))
        let (a, bw, c, var) = match &self.model.ln_final {
            None => (r.matmul(w_u.clone()), w.matmul(w_u), b_u, None),
            Some(ln) => {
                let rc = r.clone() - r.mean_dim(1);
                let wc = w.clone() - w.mean_dim(1);
                let (g, bias) = match (&ln.w, &ln.b) {
                    (Some(g), Some(bias)) => (Some(g.val().reshape([1, d])), Some(bias.val().reshape([1, d]))),
                    _ => (None, None),
                };
                let scaled = |x: Tensor<2>| match &g {
                    Some(g) => x * g.clone(),
                    None => x,
                };
                let a = scaled(rc.clone()).matmul(w_u.clone());
                let bw = scaled(wc.clone()).matmul(w_u.clone());
                let c = match bias {
                    Some(bias) => bias.matmul(w_u).reshape([1, 1, v]) + b_u,
                    None => b_u,
                };
                let rr = rc.clone().square().sum_dim(1); // [rows, 1]
                let rw = rc.matmul(wc.clone().transpose()); // [rows, m]
                let ww = wc.square().sum_dim(1).reshape([1, m]); // [1, m]
                (a, bw, c, Some((rr, rw, ww, ln.eps, d as f64)))
            }
        };
        // On the host, one pass per (row, neuron) over its d_vocab_out logits, in the order the
        // tensor form ran (so the same f32 values): ablated = (A − δ·B) / sqrt(σ² + eps) + c.
        // Where δ = 0 (a ReLU neuron that is off, when zeroed; SoLU's never are) the row's
        // logits are its unablated ones, scored once per row instead of once per neuron.
        let (a, bw, c, delta) = (to_vec(a)?, to_vec(bw)?, to_vec(c)?, to_vec(delta)?);
        let var = match var {
            None => None,
            Some((rr, rw, ww, eps, d)) => Some((to_vec(rr)?, to_vec(rw)?, to_vec(ww)?, eps as f32, d as f32)),
        };
        let logits_of = |row: usize, n: usize, dl: f32, out: &mut [f32]| {
            let scale = var.as_ref().map(|(rr, rw, ww, eps, d)| {
                let var = (rr[row] - dl * rw[row * m + n] * 2.0 + dl * dl * ww[n]) / d;
                (var + eps).sqrt()
            });
            for (k, o) in out.iter_mut().enumerate() {
                let x = a[row * v + k] - dl * bw[n * v + k];
                *o = match scale {
                    Some(s) => x / s,
                    None => x,
                } + c[k];
            }
        };
        // (cross-entropy, right) of one position's logits: torch's first argmax on ties.
        let score = |x: &[f32], t: usize| {
            let (best, max) =
                x.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &y)| if y > b.1 { (i, y) } else { b });
            let lse = (max + x.iter().map(|&y| (y - max).exp()).sum::<f32>().ln()) as f64;
            (lse - x[t] as f64, (best == t) as u8 as f64)
        };
        let (mut l, mut r) = (vec![0f64; m], vec![0f64; m]);
        let mut x = vec![0f32; v];
        for (row, &t) in targets.iter().enumerate() {
            if t == IGNORE {
                continue;
            }
            logits_of(row, 0, 0.0, &mut x);
            let unablated = score(&x, t as usize);
            for n in 0..m {
                let dl = delta[row * m + n];
                let (loss_n, right_n) = if dl == 0.0 {
                    unablated
                } else {
                    logits_of(row, n, dl, &mut x);
                    score(&x, t as usize)
                };
                l[n] += loss_n;
                r[n] += right_n;
            }
        }
        let k = n_scored as f64;
        let loss = l.iter().map(|x| (x / k) as f32).collect();
        let acc = r.iter().map(|x| (x / k) as f32).collect();
        Ok((loss, acc))
    }
}
