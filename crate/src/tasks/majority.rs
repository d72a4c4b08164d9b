//! Majority element: 128 values 0..=9, and at every position the most frequent value so far
//! (ties → the smaller value: the notebook's `torch.bincount(seq[:i]).argmax()`).
//!
//! The notebook builds 2048 uniform sequences once and `random_split`s them 80/20; here both the
//! data and the split come from fixed seeds, so `held_out` never overlaps any training set.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::{Batch, Task, TrainData};
use crate::error::{Error, Result};
use crate::model::{HookedTransformerConfig, Tokens};
use crate::train::recipe::{InitKind, Optim, Recipe, Schedule, Target};

pub const SEQ_LEN: usize = 128;
pub const N_VALUES: i64 = 10;
pub const DATASET_SIZE: usize = 2048;
/// `int(2048 · 0.8)`; the other 410 are held out.
pub const N_TRAIN: usize = DATASET_SIZE * 4 / 5;
/// The DataLoader's batch: `data_args.batch_size = 256` (`TrainingArgs.batch_size = 128` is unused).
pub const BATCH: usize = 256;
pub const EPOCHS: usize = 60;
const DATA_SEED: u64 = 23;
const SPLIT_SEED: u64 = 0x5eed_0000_0000_0023;

#[derive(Default)]
pub struct Majority;

/// The running mode of a sequence, position by position.
fn running_mode(seq: &[i64]) -> Vec<i64> {
    let mut counts = [0usize; N_VALUES as usize];
    let mut best = 0usize;
    seq.iter()
        .map(|&v| {
            let v = v as usize;
            counts[v] += 1;
            // Only v's count moved, so the mode is the old one or v.
            if counts[v] > counts[best] || (counts[v] == counts[best] && v < best) {
                best = v;
            }
            best as i64
        })
        .collect()
}

fn batch_of(rows: &[Vec<i64>]) -> Batch {
    let ids: Vec<i64> = rows.concat();
    let targets = rows.iter().flat_map(|r| running_mode(r)).collect();
    Batch { tokens: Tokens { batch: rows.len(), pos: SEQ_LEN, ids }, targets }
}

fn random_rows(rng: &mut StdRng, n: usize) -> Vec<Vec<i64>> {
    (0..n).map(|_| (0..SEQ_LEN).map(|_| rng.random_range(0..N_VALUES)).collect()).collect()
}

/// The notebook's dataset, split: (train 1638, held out 410).
pub fn split() -> (Batch, Batch) {
    let mut rows = random_rows(&mut StdRng::seed_from_u64(DATA_SEED), DATASET_SIZE);
    rows.shuffle(&mut StdRng::seed_from_u64(SPLIT_SEED));
    let held = rows.split_off(N_TRAIN);
    (batch_of(&rows), batch_of(&held))
}

impl Task for Majority {
    fn id(&self) -> &'static str {
        "majority"
    }

    /// The notebook's `EasyTransformerConfig`: 1 layer, 2 heads of 32, d_mlp 256 with solu_ln,
    /// LayerNorm, vocab 10, context 128 (torchinfo there: 60 106 parameters).
    fn config(&self) -> HookedTransformerConfig {
        HookedTransformerConfig::from_map(
            serde_json::json!({
                "d_model": 64, "d_head": 32, "n_heads": 2, "d_mlp": 256, "n_layers": 1,
                "n_ctx": 128, "act_fn": "solu_ln", "d_vocab": 10, "normalization_type": "LN",
                "seed": 23,
            })
            .as_object()
            .unwrap()
            .clone(),
        )
        .expect("majority config")
    }

    /// The notebook: `torch.optim.AdamW(lr=1e-3, weight_decay=0.01)` — its `betas=(0.99, 0.999)`
    /// are never passed, so torch's (0.9, 0.999), and OneCycle cycles beta1 anyway —
    /// under `OneCycleLR(max_lr=0.01, steps_per_epoch=len(trainloader), epochs=60)` stepped per
    /// batch; cross-entropy over all 128 positions. The loader's batch is 256, so 7 batches per
    /// epoch and 420 steps. The notebook's own verdict: "not perfectly accurate, but still quite
    /// accurate most of the time".
    fn recipe(&self) -> Recipe {
        let steps = EPOCHS * N_TRAIN.div_ceil(BATCH);
        Recipe {
            optim: Optim::AdamW { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
            schedule: Schedule::OneCycle { max_lr: 0.01, total_steps: steps },
            batch_size: BATCH,
            steps,
            seed: 23,
            init: InitKind::TransformerLens,
            freeze: None,
            target: Target { max_loss: None, min_accuracy: Some(0.99) },
            eval_every: steps / 20,
        }
    }

    /// The fixed 80 % (independent of `seed`, so the held-out 20 % stays unseen).
    fn train_data(&self, _seed: u64) -> TrainData {
        TrainData::Fixed(split().0)
    }

    fn sample(&self, rng: &mut StdRng, n: usize) -> Batch {
        batch_of(&random_rows(rng, n))
    }

    fn held_out(&self) -> Batch {
        split().1
    }

    /// Any length 1..=128.
    fn label(&self, tokens: &Tokens) -> Result<Vec<i64>> {
        if tokens.pos == 0 || tokens.pos > SEQ_LEN {
            return Err(Error::Tokens(format!("majority: sequences need 1 to {SEQ_LEN} tokens, got {}", tokens.pos)));
        }
        if let Some((i, &t)) = tokens.ids.iter().enumerate().find(|(_, t)| !(0..N_VALUES).contains(*t)) {
            return Err(Error::Tokens(format!(
                "majority: token {t} at sequence {}, position {} is not a value 0..=9",
                i / tokens.pos,
                i % tokens.pos
            )));
        }
        Ok(tokens.ids.chunks(tokens.pos).flat_map(running_mode).collect())
    }

    fn token_str(&self, id: i64) -> String {
        if (0..N_VALUES).contains(&id) { id.to_string() } else { format!("<{id}>") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Count every prefix from scratch; the first value with the top count wins.
    fn brute(seq: &[i64]) -> Vec<i64> {
        (1..=seq.len())
            .map(|i| {
                let counts: Vec<usize> = (0..10).map(|v| seq[..i].iter().filter(|&&x| x == v).count()).collect();
                let top = *counts.iter().max().unwrap();
                counts.iter().position(|&c| c == top).unwrap() as i64
            })
            .collect()
    }

    #[test]
    fn labels_match_brute_force() {
        let mut rng = StdRng::seed_from_u64(1);
        let b = Majority.sample(&mut rng, 300);
        // The labeller's own output against the brute force (the generator shares its code).
        let labels = Majority.label(&b.tokens).unwrap();
        for (row, tg) in b.tokens.ids.chunks(SEQ_LEN).zip(labels.chunks(SEQ_LEN)) {
            assert_eq!(brute(row), tg);
        }
        // Short sequences over few values make ties common.
        for _ in 0..2000 {
            let len = rng.random_range(1..=12);
            let row: Vec<i64> = (0..len).map(|_| rng.random_range(0..3)).collect();
            let t = Majority.label(&Tokens { batch: 1, pos: len, ids: row.clone() }).unwrap();
            assert_eq!(t, brute(&row), "{row:?}");
        }
        // The notebook's example prefix: 6 4 2 5 7 9 4 6 0 → 6 4 2 2 2 2 4 4 4.
        let t = Majority.label(&Tokens { batch: 1, pos: 9, ids: vec![6, 4, 2, 5, 7, 9, 4, 6, 0] }).unwrap();
        assert_eq!(t, vec![6, 4, 2, 2, 2, 2, 4, 4, 4]);
    }

    #[test]
    fn split_sizes_disjoint_and_fixed() {
        let (tr, ho) = split();
        assert_eq!((tr.len(), ho.len()), (1638, 410));
        let a: HashSet<&[i64]> = tr.tokens.ids.chunks(SEQ_LEN).collect();
        let b: HashSet<&[i64]> = ho.tokens.ids.chunks(SEQ_LEN).collect();
        assert!(a.is_disjoint(&b));
        assert_eq!(Majority.held_out().tokens.ids, ho.tokens.ids);
        let TrainData::Fixed(t2) = Majority.train_data(5) else { panic!("majority trains on a fixed set") };
        assert_eq!(t2.tokens.ids, tr.tokens.ids);
        // Uniform values: each about a tenth of all tokens.
        let mut counts = [0usize; 10];
        tr.tokens.ids.iter().for_each(|&t| counts[t as usize] += 1);
        let n = tr.tokens.ids.len() as f64;
        assert!(counts.iter().all(|&c| (c as f64 / n - 0.1).abs() < 0.005), "{counts:?}");
    }

    #[test]
    fn sampling_is_deterministic() {
        let a = Majority.sample(&mut StdRng::seed_from_u64(2), 4);
        assert_eq!(a.tokens.ids, Majority.sample(&mut StdRng::seed_from_u64(2), 4).tokens.ids);
        assert_ne!(a.tokens.ids, Majority.sample(&mut StdRng::seed_from_u64(3), 4).tokens.ids);
    }

    #[test]
    fn rejects_bad_tokens() {
        let e = Majority.label(&Tokens { batch: 2, pos: 2, ids: vec![1, 2, 3, 10] }).unwrap_err().to_string();
        assert!(e.contains("token 10") && e.contains("sequence 1, position 1"), "{e}");
        let e = Majority.label(&Tokens { batch: 1, pos: 129, ids: vec![0; 129] }).unwrap_err().to_string();
        assert!(e.contains("1 to 128"), "{e}");
    }

    #[test]
    fn config_and_recipe() {
        let c = Majority.config();
        // The notebook's torchinfo summary: 60,106 parameters.
        assert_eq!((c.n_params(), c.n_params_tl()), (60_106, 49_152));
        let r = Majority.recipe();
        assert_eq!(r.steps, 420);
        assert_eq!(r.schedule, Schedule::OneCycle { max_lr: 0.01, total_steps: 420 });
    }
}
