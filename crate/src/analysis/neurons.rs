//! Neuron statistics from `mlp.hook_post`: activations by position, by label (mean and std),
//! one example's neuron-by-position heatmap, the most active neurons, and the summed trace of
//! chosen neurons (the majority notebook's n93 + n103 + n117).

use serde::{Deserialize, Serialize};

use burn::tensor::Tensor;

use super::grouping::{GroupStats, group_by_label};
use super::labeled::{LabeledTensor, index_labels, to_vec};
use super::run::{CachedRun, index_tensor};
use crate::error::{Error, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopNeurons {
    /// Neuron indices, most active first.
    pub neurons: Vec<usize>,
    /// Their mean activation over batch and positions.
    pub mean_activation: Vec<f32>,
}

impl CachedRun {
    /// [batch, pos, d_mlp]
    pub fn neuron_acts(&self, layer: usize) -> Result<Tensor<3>> {
        self.require_mlp()?;
        self.act::<3>(&format!("blocks.{layer}.mlp.hook_post"))
    }

    /// Mean over the batch: [pos, d_mlp].
    pub fn neuron_position_means(&self, layer: usize) -> Result<Tensor<2>> {
        Ok(self.neuron_acts(layer)?.mean_dim(0).squeeze_dim::<2>(0))
    }

    /// One example's activations [pos, d_mlp] (the majority notebook's heatmap).
    pub fn neuron_heatmap(&self, layer: usize, example: usize) -> Result<Tensor<2>> {
        if example >= self.batch() {
            return Err(Error::Config(format!("example {example} is outside 0..{}", self.batch())));
        }
        Ok(self.neuron_acts(layer)?.narrow(0, example, 1).squeeze_dim::<2>(0))
    }

    /// Mean and std of each neuron over the (batch, pos) entries of each label:
    /// [1, n_labels, d_mlp] (the cumsum notebook's "neuron activations, split by label").
    pub fn neurons_by_label(&self, layer: usize, labels: &[i64], n_labels: usize) -> Result<GroupStats> {
        let acts = self.neuron_acts(layer)?;
        let [b, p, m] = acts.dims();
        group_by_label(acts.reshape([1, b * p, m]), labels, n_labels)
    }

    /// The `k` neurons with the highest mean activation over batch and positions.
    pub fn top_neurons(&self, layer: usize, k: usize) -> Result<TopNeurons> {
        let acts = self.neuron_acts(layer)?;
        let [b, p, m] = acts.dims();
        let means = to_vec(acts.reshape([b * p, m]).mean_dim(0))?;
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&i, &j| means[j].total_cmp(&means[i]).then(i.cmp(&j)));
        order.truncate(k.min(m));
        Ok(TopNeurons { mean_activation: order.iter().map(|&i| means[i]).collect(), neurons: order })
    }

    /// Σ of the chosen neurons' activations per position: [batch, pos].
    pub fn neuron_sum(&self, layer: usize, neurons: &[usize]) -> Result<Tensor<2>> {
        let acts = self.neuron_acts(layer)?;
        let m = acts.dims()[2];
        if let Some(n) = neurons.iter().find(|&&n| n >= m) {
            return Err(Error::Config(format!("neuron {n} is outside 0..{m}")));
        }
        Ok(acts.select(2, index_tensor(neurons, &self.device())).sum_dim(2).squeeze_dim::<2>(2))
    }
}

/// Reads `GroupStats` [1, L, f] back as (mean, std) [label, feature] with label names.
pub fn read_groups(
    g: GroupStats,
    feature_axis: &str,
    label_names: &[String],
) -> Result<(LabeledTensor, LabeledTensor, Vec<usize>)> {
    let read = |t: Tensor<3>| -> Result<LabeledTensor> {
        let [_, l, f] = t.dims();
        let x = LabeledTensor::read(t.reshape([l, f]), &["label", feature_axis])?;
        Ok(x.label("label", label_names.to_vec()).label(feature_axis, index_labels(f)))
    };
    Ok((read(g.mean)?, read(g.std)?, g.counts))
}
