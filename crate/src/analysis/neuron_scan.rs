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
use wide::f32x4;

use super::ablation::{Ablation, Target};
use super::labeled::{LabeledTensor, to_vec};
use super::metrics::{IGNORE, LossAccuracy, loss_accuracy, scored_count};
use super::run::CachedRun;
use super::weights;
use crate::error::Result;
use crate::model::row_kernels::exp_nonpositive;

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
        let (a, bw, c, delta) = (to_vec(a)?, to_vec(bw)?, to_vec(c)?, to_vec(delta)?);
        let var = match var {
            None => None,
            Some((rr, rw, ww, eps, d)) => {
                Some(Spread { rr: to_vec(rr)?, rw: to_vec(rw)?, ww: to_vec(ww)?, eps: eps as f32, d: d as f32 })
            }
        };
        let (l, r) = Closed { a: &a, bw: &bw, c: &c, delta: &delta, var: var.as_ref(), m, v }.sums(targets);
        let k = n_scored as f64;
        let loss = l.iter().map(|x| (x / k) as f32).collect();
        let acc = r.iter().map(|x| (x / k) as f32).collect();
        Ok((loss, acc))
    }
}

/// σ²'s terms when the last layer is followed by a LayerNorm: |r̃|² [rows], r̃·w̃ [rows, m],
/// |w̃|² [m], its eps and d_model.
struct Spread {
    rr: Vec<f32>,
    rw: Vec<f32>,
    ww: Vec<f32>,
    eps: f32,
    d: f32,
}

/// The closed form of `scan_last_layer` on the host: A [rows, v], B [m, v], c [v], δ [rows, m].
struct Closed<'a> {
    a: &'a [f32],
    bw: &'a [f32],
    c: &'a [f32],
    delta: &'a [f32],
    var: Option<&'a Spread>,
    m: usize,
    v: usize,
}

/// Neurons a pass computes at once: one SIMD lane each (`wide`'s f32x4: SSE natively, one
/// v128 in the browser), d_vocab_out exps a lane for each of majority's 8192 positions × 256
/// neurons.
const LANES: usize = 4;

impl Closed<'_> {
    /// Per neuron, the sums over the scored rows of the cross-entropy and of whether the argmax
    /// is the target (torch's first argmax on ties), with that neuron alone ablated. A neuron's
    /// logits are computed as the tensor form did (the same f32 operations in the same order).
    fn sums(&self, targets: &[i64]) -> (Vec<f64>, Vec<f64>) {
        let m = self.m;
        let mut pass = Pass::new(self);
        let width = pass.width;
        let (mut l, mut r) = (vec![0f64; width], vec![0f64; width]);
        for (row, &t) in targets.iter().enumerate() {
            if t == IGNORE {
                continue;
            }
            let t = t as usize;
            let delta = &self.delta[row * m..(row + 1) * m];
            // The row's unablated score, for groups whose every δ is 0 (ReLU neurons that are
            // off, when zeroed): scored once per row rather than once per neuron.
            let mut unablated = None;
            for g in (0..width).step_by(LANES) {
                let dl = group(delta, g);
                let (loss, right) = if dl.to_array() == [0.0; LANES] {
                    // δ = 0 leaves σ² = |r̃|² / d: the other terms' values do not matter.
                    let spread = self.var.map(|s| (s, f32x4::ZERO, f32x4::ZERO));
                    *unablated.get_or_insert_with(|| pass.score(row, t, f32x4::ZERO, 0, spread))
                } else {
                    let spread = self.var.map(|s| (s, group(&s.rw[row * m..(row + 1) * m], g), group(&s.ww, g)));
                    pass.score(row, t, dl, g, spread)
                };
                for j in 0..LANES {
                    l[g + j] += loss[j];
                    r[g + j] += right[j];
                }
            }
        }
        l.truncate(m);
        r.truncate(m);
        (l, r)
    }
}

/// Lanes g..g + LANES of a neuron-indexed row, 0 past its end (the last group's padding).
fn group(x: &[f32], g: usize) -> f32x4 {
    let mut lanes = [0f32; LANES];
    let end = x.len().min(g + LANES);
    lanes[..end - g].copy_from_slice(&x[g..end]);
    f32x4::new(lanes)
}

/// What scoring a lane group needs beside the closed form: B transposed and padded to whole
/// lane groups, [v, width] (one logit of a group's neurons is one load; padding neurons have
/// δ = 0 and are dropped at the end), and room for a group's logits.
struct Pass<'a> {
    k: &'a Closed<'a>,
    bt: Vec<f32>,
    width: usize,
    xs: Vec<f32x4>,
}

impl<'a> Pass<'a> {
    fn new(k: &'a Closed<'a>) -> Self {
        let (m, v) = (k.m, k.v);
        let width = m.div_ceil(LANES) * LANES;
        let mut bt = vec![0f32; v * width];
        for n in 0..m {
            for j in 0..v {
                bt[j * width + n] = k.bw[n * v + j];
            }
        }
        Pass { k, bt, width, xs: vec![f32x4::ZERO; v] }
    }

    /// (cross-entropy, right) of `row` for the neurons of the lane group at `g`, δ = `dl`, and
    /// σ²'s terms of those neurons when there is a final LayerNorm.
    fn score(
        &mut self,
        row: usize,
        t: usize,
        dl: f32x4,
        g: usize,
        spread: Option<(&Spread, f32x4, f32x4)>,
    ) -> ([f64; LANES], [f64; LANES]) {
        let (k, v, width) = (self.k, self.k.v, self.width);
        // ablated = (A − δ·B) / sqrt(σ² + eps) + c, σ² = (|r̃|² − 2δ·r̃·w̃ + δ²·|w̃|²) / d.
        let scale = spread.map(|(s, rw, ww)| {
            let var = (f32x4::splat(s.rr[row]) - dl * rw * f32x4::splat(2.0) + dl * dl * ww) / f32x4::splat(s.d);
            (var + f32x4::splat(s.eps)).sqrt()
        });
        let (mut best, mut at) = (f32x4::splat(f32::NEG_INFINITY), f32x4::ZERO);
        for (j, x) in self.xs.iter_mut().enumerate() {
            let b = f32x4::new(self.bt[j * width + g..j * width + g + LANES].try_into().expect("a lane group"));
            let y = f32x4::splat(k.a[row * v + j]) - dl * b;
            let y = match scale {
                Some(s) => y / s,
                None => y,
            } + f32x4::splat(k.c[j]);
            // Strictly greater: the first of equal maxima, and NaN never, as torch's argmax.
            let more = y.simd_gt(best);
            best = more.select(y, best);
            at = more.select(f32x4::splat(j as f32), at);
            *x = y;
        }
        let mut sum = f32x4::ZERO;
        for &x in self.xs.iter() {
            sum += exp_nonpositive(x - best);
        }
        let lse = (best + sum.ln()).to_array();
        let (target, at) = (self.xs[t].to_array(), at.to_array());
        (
            std::array::from_fn(|j| lse[j] as f64 - target[j] as f64),
            std::array::from_fn(|j| (at[j] == t as f32) as u8 as f64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan's lane groups against one (row, neuron) at a time with scalar libm exp and ln:
    /// a neuron count that leaves a partial group, with and without a final LayerNorm, groups
    /// whose every δ is 0, unscored rows and tied logits.
    #[test]
    fn lane_groups_match_one_neuron_at_a_time() {
        let (rows, m, v) = (7, 13, 5);
        let wave = |i: usize, f: f32| ((i as f32 * f).sin() * 3.0 * 1e3).round() / 1e3;
        let a: Vec<f32> = (0..rows * v).map(|i| if i == 3 { wave(4, 0.7) } else { wave(i, 0.7) }).collect();
        let bw: Vec<f32> = (0..m * v).map(|i| wave(i, 1.3)).collect();
        let c: Vec<f32> = (0..v).map(|i| wave(i, 2.1)).collect();
        // Row 2's first group all off (δ = 0); row 5 off everywhere.
        let delta: Vec<f32> =
            (0..rows * m).map(|i| if (i / m == 2 && i % m < 8) || i / m == 5 { 0.0 } else { wave(i, 0.9) }).collect();
        let spread = Spread {
            rr: (0..rows).map(|i| 20.0 + wave(i, 0.5).abs()).collect(),
            rw: (0..rows * m).map(|i| wave(i, 0.3)).collect(),
            ww: (0..m).map(|i| 2.0 + wave(i, 0.4).abs()).collect(),
            eps: 1e-5,
            d: 16.0,
        };
        let targets: Vec<i64> = (0..rows as i64).map(|r| if r == 4 { IGNORE } else { r % v as i64 }).collect();
        for var in [None, Some(&spread)] {
            let got = Closed { a: &a, bw: &bw, c: &c, delta: &delta, var, m, v }.sums(&targets);
            let (mut l, mut r) = (vec![0f64; m], vec![0f64; m]);
            for (row, &t) in targets.iter().enumerate() {
                if t == IGNORE {
                    continue;
                }
                for n in 0..m {
                    let dl = delta[row * m + n];
                    let s = var.map(|s| {
                        let var = (s.rr[row] - dl * s.rw[row * m + n] * 2.0 + dl * dl * s.ww[n]) / s.d;
                        (var + s.eps).sqrt()
                    });
                    let x: Vec<f32> = (0..v)
                        .map(|k| {
                            let y = a[row * v + k] - dl * bw[n * v + k];
                            s.map_or(y, |s| y / s) + c[k]
                        })
                        .collect();
                    let (best, max) = x
                        .iter()
                        .enumerate()
                        .fold((0, f32::NEG_INFINITY), |b, (i, &y)| if y > b.1 { (i, y) } else { b });
                    let lse = max + x.iter().map(|&y| (y - max).exp()).sum::<f32>().ln();
                    l[n] += lse as f64 - x[t as usize] as f64;
                    r[n] += (best == t as usize) as u8 as f64;
                }
            }
            assert_eq!(got.1, r, "right answers, layernorm {}", var.is_some());
            for (n, (got, want)) in got.0.iter().zip(&l).enumerate() {
                assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "neuron {n}: {got} vs {want}");
            }
        }
    }
}
