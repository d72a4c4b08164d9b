//! The majority notebook's counting overlay: how often each value occurred strictly before
//! each position (`sum(tokens[:i] == v)` for i in range(len)), to lay over neuron traces.

use super::labeled::{LabeledTensor, index_labels};
use crate::model::Tokens;

/// Exclusive prefix counts [batch, pos, value] for token values 0..n_values.
pub fn running_counts(tokens: &Tokens, n_values: usize) -> LabeledTensor {
    let (b, p) = (tokens.batch, tokens.pos);
    let mut out = vec![0f32; b * p * n_values];
    for i in 0..b {
        let mut seen = vec![0f32; n_values];
        for j in 0..p {
            out[(i * p + j) * n_values..(i * p + j + 1) * n_values].copy_from_slice(&seen);
            let t = tokens.ids[i * p + j];
            if t >= 0 && (t as usize) < n_values {
                seen[t as usize] += 1.0;
            }
        }
    }
    LabeledTensor::new(vec![b, p, n_values], out, &["batch", "pos", "value"])
        .label("pos", index_labels(p))
        .label("value", index_labels(n_values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exclude_the_current_position() {
        let t = Tokens::new(1, 4, vec![2, 2, 0, 2]).unwrap();
        let c = running_counts(&t, 3);
        let twos: Vec<f32> = (0..4).map(|j| c.get(&[0, j, 2])).collect();
        assert_eq!(twos, vec![0.0, 1.0, 2.0, 2.0]);
        assert_eq!(c.get(&[0, 3, 0]), 1.0);
    }
}
