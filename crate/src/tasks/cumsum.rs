//! ARENA's November-2023 challenge: classify the sign of the running sum of values −5..=+5.
//!
//! Source: ARENA_2.0 `monthly_algorithmic_problems/november23_cumsum/` (dataset.py, model.py,
//! training.py, training_model.ipynb); the analysis notebook loads the model with `create_model`.
//! Tokens are `value + 5` (the notebook's `fix_dataset`), classes 0 neg / 1 zero / 2 pos.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Batch, Task, TrainData};
use crate::error::{Error, Result};
use crate::model::params::StateDict;
use crate::model::process;
use crate::model::{HookedTransformerConfig, Tokens};
use crate::train::recipe::{InitKind, Optim, Recipe, Schedule, Target};

pub const MAX_VALUE: i64 = 5;
pub const SEQ_LEN: usize = 20;
/// dataset.py's `p`: chance that a value's sign opposes the running sum so far (zeros commoner).
pub const P_OPPOSITE: f64 = 0.7;
/// training.py: `trainset_size`, `valset_size`, `batch_size`, `epochs`.
pub const TRAIN_SIZE: usize = 150_000;
pub const VAL_SIZE: usize = 10_000;
pub const BATCH: usize = 512;
pub const EPOCHS: usize = 20;
/// The held-out set's own seed; training sets use the recipe's (the notebook: 42 and 43).
const HELD_OUT_SEED: u64 = 0x5eed_0c05_0000_0043;

#[derive(Default)]
pub struct Cumsum;

/// One sequence of values (not tokens), drawn the way dataset.py draws it.
pub fn values(rng: &mut StdRng) -> [i64; SEQ_LEN] {
    let mut v = [0i64; SEQ_LEN];
    v[0] = rng.random_range(-MAX_VALUE..=MAX_VALUE);
    let mut sum = v[0];
    for x in v.iter_mut().skip(1) {
        // dataset.py: negative with prob p when the sum is > 0, else (sum ≤ 0, zero included)
        // positive with prob p; the magnitude is uniform 0..=max_value, so a 0 has no sign.
        let flip = rng.random_bool(P_OPPOSITE);
        let negative = if sum > 0 { flip } else { !flip };
        let mag = rng.random_range(0..=MAX_VALUE);
        *x = if negative { -mag } else { mag };
        sum += *x;
    }
    v
}

/// Sign class of the running sum, position by position.
fn classes(tokens: &[i64]) -> Vec<i64> {
    tokens
        .iter()
        .scan(0i64, |sum, &t| {
            *sum += t - MAX_VALUE;
            Some(sum.signum() + 1)
        })
        .collect()
}

pub fn generate(rng: &mut StdRng, n: usize) -> Batch {
    let mut ids = Vec::with_capacity(n * SEQ_LEN);
    for _ in 0..n {
        ids.extend(values(rng).iter().map(|v| v + MAX_VALUE));
    }
    let targets = ids.chunks(SEQ_LEN).flat_map(classes).collect();
    Batch { tokens: Tokens { batch: n, pos: SEQ_LEN, ids }, targets }
}

impl Task for Cumsum {
    fn id(&self) -> &'static str {
        "cumsum"
    }

    /// model.py's `create_model(max_value=5, seq_len=20, d_model=24, d_head=12, n_layers=1,
    /// n_heads=1, normalization_type=None, d_mlp=8)`, hook flags included (they add no parameters).
    fn config(&self) -> HookedTransformerConfig {
        HookedTransformerConfig::from_map(
            serde_json::json!({
                "n_layers": 1, "n_heads": 1, "d_model": 24, "d_head": 12, "d_mlp": 8,
                "d_vocab": 11, "d_vocab_out": 3, "n_ctx": 20, "act_fn": "relu",
                "normalization_type": null, "attn_only": false, "seed": 0,
                "use_attn_result": true, "use_split_qkv_input": true, "use_hook_tokens": true,
            })
            .as_object()
            .unwrap()
            .clone(),
        )
        .expect("cumsum config")
    }

    /// training.py: `torch.optim.Adam(lr=1e-3, weight_decay=0.01)` (coupled L2), batch 512,
    /// 20 epochs over 150 000 sequences (293 batches each, the last partial), seed 42. Its lr for
    /// epoch e is `1e-3 + (1e-4 − 1e-3)·(e+1)/20`, i.e. 9.55e-4 in epoch 0 down to 1e-4 in
    /// epoch 19 (the log prints exactly these): factor 0.955 → 0.1 over the 20 epochs.
    fn recipe(&self) -> Recipe {
        let steps_per_epoch = TRAIN_SIZE.div_ceil(BATCH);
        let steps = EPOCHS * steps_per_epoch;
        Recipe {
            optim: Optim::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
            schedule: Schedule::LinearPerEpoch { start_factor: 0.955, end_factor: 0.1, epochs: EPOCHS },
            batch_size: BATCH,
            steps,
            seed: 42,
            init: InitKind::TransformerLens,
            freeze: None,
            target: Target { max_loss: None, min_accuracy: Some(0.99) },
            // The notebook validates once per epoch.
            eval_every: steps_per_epoch,
        }
    }

    fn train_data(&self, seed: u64) -> TrainData {
        TrainData::Fixed(generate(&mut StdRng::seed_from_u64(seed), TRAIN_SIZE))
    }

    fn sample(&self, rng: &mut StdRng, n: usize) -> Batch {
        generate(rng, n)
    }

    fn held_out(&self) -> Batch {
        generate(&mut StdRng::seed_from_u64(HELD_OUT_SEED), VAL_SIZE)
    }

    /// Any length 1..=20 (the running sum is defined for every prefix).
    fn label(&self, tokens: &Tokens) -> Result<Vec<i64>> {
        if tokens.pos == 0 || tokens.pos > SEQ_LEN {
            return Err(Error::Tokens(format!("cumsum: sequences need 1 to {SEQ_LEN} tokens, got {}", tokens.pos)));
        }
        if let Some((i, &t)) = tokens.ids.iter().enumerate().find(|(_, t)| !(0..=2 * MAX_VALUE).contains(*t)) {
            return Err(Error::Tokens(format!(
                "cumsum: token {t} at sequence {}, position {} is not a value token (0..=10 for -5..+5)",
                i / tokens.pos,
                i % tokens.pos
            )));
        }
        Ok(tokens.ids.chunks(tokens.pos).flat_map(classes).collect())
    }

    /// dataset.py's vocab: `f"{v:+}"`, so zero reads "+0".
    fn token_str(&self, id: i64) -> String {
        if (0..=2 * MAX_VALUE).contains(&id) { format!("{:+}", id - MAX_VALUE) } else { format!("<{id}>") }
    }

    /// The three classes are the running sum's sign, not tokens.
    fn class_names(&self, n: usize) -> Vec<String> {
        if n == 3 { CLASS_NAMES.map(String::from).to_vec() } else { (0..n).map(|i| format!("<{i}>")).collect() }
    }

    /// The notebook's loading: `center_writing_weights`, `center_unembed`,
    /// `fold_value_biases`, each applied directly (so also without LayerNorm).
    fn notebook_processing(&self, cfg: &HookedTransformerConfig, sd: &StateDict) -> Result<StateDict> {
        let mut sd = sd.clone();
        process::center_writing_weights(cfg, &mut sd)?;
        process::center_unembed(&mut sd)?;
        process::fold_value_biases(cfg, &mut sd)?;
        Ok(sd)
    }
}

/// Class 0, 1, 2: the running sum is negative, zero, positive.
pub const CLASS_NAMES: [&str; 3] = ["neg", "zero", "pos"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_running_sum_sign() {
        let b = generate(&mut StdRng::seed_from_u64(1), 2000);
        // The labeller's own output, checked against the brute force below (not against the
        // generator, which shares its code).
        let labels = Cumsum.label(&b.tokens).unwrap();
        for (row, tg) in b.tokens.ids.chunks(SEQ_LEN).zip(labels.chunks(SEQ_LEN)) {
            for i in 0..SEQ_LEN {
                let s: i64 = row[..=i].iter().map(|t| t - 5).sum();
                let want = if s < 0 {
                    0
                } else if s == 0 {
                    1
                } else {
                    2
                };
                assert_eq!(tg[i], want);
            }
        }
        // The notebook's example: +0 +1 -3 -3 -2 +3 → zero pos neg neg neg neg.
        let t = Tokens { batch: 1, pos: 6, ids: vec![5, 6, 2, 2, 3, 8] };
        assert_eq!(Cumsum.label(&t).unwrap(), vec![1, 2, 0, 0, 0, 0]);
    }

    #[test]
    fn distribution_matches_dataset_py() {
        let b = generate(&mut StdRng::seed_from_u64(7), 100_000);
        let mut first = [0usize; 11];
        // [prev sum < 0, == 0, > 0] → (nonzero values, of which positive), and zeros / total.
        let mut nonzero = [0usize; 3];
        let mut positive = [0usize; 3];
        let (mut zeros, mut later) = (0usize, 0usize);
        for row in b.tokens.ids.chunks(SEQ_LEN) {
            first[row[0] as usize] += 1;
            let mut sum = row[0] - 5;
            for &t in &row[1..] {
                let v = t - 5;
                let k = (sum.signum() + 1) as usize;
                later += 1;
                if v == 0 {
                    zeros += 1;
                } else {
                    nonzero[k] += 1;
                    positive[k] += (v > 0) as usize;
                }
                sum += v;
            }
        }
        for c in first {
            let f = c as f64 / 100_000.0;
            assert!((f - 1.0 / 11.0).abs() < 0.005, "first value not uniform: {first:?}");
        }
        let pos_rate = |k: usize| positive[k] as f64 / nonzero[k] as f64;
        // Opposite sign with prob 0.7; a zero sum counts as "not positive", so it goes positive.
        assert!((pos_rate(0) - 0.7).abs() < 0.01, "after a negative sum: {}", pos_rate(0));
        assert!((pos_rate(2) - 0.3).abs() < 0.01, "after a positive sum: {}", pos_rate(2));
        assert!((pos_rate(1) - 0.7).abs() < 0.02, "after a zero sum: {}", pos_rate(1));
        assert!(nonzero[1] > 50_000, "zero sums should be common");
        let z = zeros as f64 / later as f64;
        assert!((z - 1.0 / 6.0).abs() < 0.005, "zero rate {z}");
    }

    #[test]
    fn deterministic_per_seed() {
        let a = generate(&mut StdRng::seed_from_u64(3), 50);
        let b = generate(&mut StdRng::seed_from_u64(3), 50);
        let c = generate(&mut StdRng::seed_from_u64(4), 50);
        assert_eq!(a.tokens.ids, b.tokens.ids);
        assert_ne!(a.tokens.ids, c.tokens.ids);
        assert_eq!(Cumsum.held_out().tokens.ids, Cumsum.held_out().tokens.ids);
    }

    #[test]
    fn rejects_bad_tokens() {
        let e = Cumsum.label(&Tokens { batch: 1, pos: 3, ids: vec![0, 11, 3] }).unwrap_err().to_string();
        assert!(e.contains("token 11") && e.contains("position 1"), "{e}");
        let e = Cumsum.label(&Tokens { batch: 1, pos: 21, ids: vec![5; 21] }).unwrap_err().to_string();
        assert!(e.contains("1 to 20"), "{e}");
    }

    #[test]
    fn config_recipe_and_strings() {
        let c = Cumsum.config();
        assert_eq!((c.n_params(), c.n_params_tl()), (2447, 1536));
        assert!(c.use_split_qkv_input && c.use_attn_result && c.use_hook_tokens);
        let r = Cumsum.recipe();
        assert_eq!(r.steps, 20 * 293);
        // The notebook's logged lr: epoch 0 → 9.55e-4, epoch 18 → 1.45e-4, epoch 19 → 1e-4, under
        // LinearPerEpoch as train/schedule.rs computes it (end_factor reached in the last epoch).
        for (e, want) in [(0, 9.55e-4), (1, 9.10e-4), (18, 1.45e-4), (19, 1e-4)] {
            let lr = r.schedule.lr(r.optim.lr(), e * 293, e);
            assert!((lr - want).abs() < 1e-12, "epoch {e}: {lr}");
        }
        let s: Vec<String> = (0..11).map(|i| Cumsum.token_str(i)).collect();
        assert_eq!(s[0], "-5");
        assert_eq!(s[5], "+0");
        assert_eq!(s[10], "+5");
    }
}
