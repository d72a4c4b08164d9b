//! Mean and standard deviation of entries grouped by a label (the cumsum notebook's bars with
//! error bars: `x[labels == j].mean(0)`, `.std(0)`), as one-hot matmuls so it runs on any
//! backend. The std is torch's default, unbiased (n − 1); empty groups give NaN means and
//! groups of fewer than two give NaN stds, as torch does.

use burn::tensor::{Bool, Tensor, TensorData};

use crate::error::{Error, Result};

pub struct GroupStats {
    /// [components, n_labels, features]
    pub mean: Tensor<3>,
    /// [components, n_labels, features]
    pub std: Tensor<3>,
    /// Entries per label.
    pub counts: Vec<usize>,
}

/// `x` [components, entries, features]; `labels` one per entry (negative = in no group).
pub fn group_by_label(x: Tensor<3>, labels: &[i64], n_labels: usize) -> Result<GroupStats> {
    let [c, n, f] = x.dims();
    if labels.len() != n {
        return Err(Error::Config(format!("{} labels for {n} entries", labels.len())));
    }
    if let Some(l) = labels.iter().find(|&&l| l >= n_labels as i64) {
        return Err(Error::Config(format!("label {l} is outside 0..{n_labels}")));
    }
    let device = x.device();
    let mut counts = vec![0usize; n_labels];
    for &l in labels.iter().filter(|&&l| l >= 0) {
        counts[l as usize] += 1;
    }
    let (mut w_mean, mut w_var, mut onehot) =
        (vec![0f32; n_labels * n], vec![0f32; n_labels * n], vec![0f32; n * n_labels]);
    for (i, &l) in labels.iter().enumerate().filter(|(_, l)| **l >= 0) {
        let l = l as usize;
        w_mean[l * n + i] = 1.0 / counts[l] as f32;
        if counts[l] > 1 {
            w_var[l * n + i] = 1.0 / (counts[l] - 1) as f32;
        }
        onehot[i * n_labels + l] = 1.0;
    }
    let mat = |v: Vec<f32>, r: usize, k: usize| Tensor::<3>::from_data(TensorData::new(v, [1, r, k]), &device);
    let mean = mat(w_mean, n_labels, n).matmul(x.clone()); // [c, L, f]
    let centered = x - mat(onehot, n, n_labels).matmul(mean.clone());
    let var = mat(w_var, n_labels, n).matmul(centered.square());
    let mask = |min: usize| {
        let m: Vec<bool> = counts.iter().map(|&k| k < min).collect();
        Tensor::<3, Bool>::from_data(TensorData::new(m, [1, n_labels, 1]), &device).expand([c, n_labels, f])
    };
    Ok(GroupStats { mean: mean.mask_fill(mask(1), f32::NAN), std: var.sqrt().mask_fill(mask(2), f32::NAN), counts })
}
