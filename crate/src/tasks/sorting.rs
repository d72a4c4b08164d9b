//! Sorting (Neel Nanda's Easy-Transformer demo): `START x1..x20 STOP sorted(x)`, x uniform in
//! 0..30, START = 30, STOP = 31. Only the sorted half is scored: the notebook's `sorting_loss`
//! slices from offset 21, so positions 21 (STOP) ..= 40 predict the 20 sorted tokens.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Batch, IGNORE, Task, TrainData};
use crate::error::{Error, Result};
use crate::model::{HookedTransformerConfig, Tokens};
use crate::train::loss::argmax;
use crate::train::recipe::{InitKind, Optim, Recipe, Schedule, Target};

pub const LIST_LEN: usize = 20;
pub const START: i64 = 30;
pub const STOP: i64 = 31;
/// Values are 0..MAX_TOKEN (`d_vocab − 2`).
pub const MAX_TOKEN: i64 = 30;
pub const N_CTX: usize = 2 * LIST_LEN + 2;
const STOP_POS: usize = LIST_LEN + 1;
const HELD_OUT: usize = 1000;
const HELD_OUT_SEED: u64 = 0x5eed_5047_0000_0123;

#[derive(Default)]
pub struct Sorting;

fn row_targets(row: &[i64]) -> Vec<i64> {
    let mut sorted = row[1..STOP_POS].to_vec();
    sorted.sort_unstable();
    let mut t = vec![IGNORE; row.len()];
    for (slot, s) in t.iter_mut().skip(STOP_POS).zip(sorted) {
        *slot = s;
    }
    t
}

pub fn generate(rng: &mut StdRng, n: usize) -> Batch {
    let mut ids = Vec::with_capacity(n * N_CTX);
    for _ in 0..n {
        let x: Vec<i64> = (0..LIST_LEN).map(|_| rng.random_range(0..MAX_TOKEN)).collect();
        let mut sorted = x.clone();
        sorted.sort_unstable();
        ids.push(START);
        ids.extend(x);
        ids.push(STOP);
        ids.extend(sorted);
    }
    let targets = ids.chunks(N_CTX).flat_map(row_targets).collect();
    Batch { tokens: Tokens { batch: n, pos: N_CTX, ids }, targets }
}

impl Task for Sorting {
    fn id(&self) -> &'static str {
        "sorting"
    }

    fn config(&self) -> HookedTransformerConfig {
        HookedTransformerConfig::from_map(
            serde_json::json!({
                "d_model": 32, "d_head": 32, "n_heads": 1, "n_layers": 1, "n_ctx": 42,
                "d_vocab": 32, "normalization_type": null, "attn_only": true,
                "use_attn_result": true, "seed": 123,
            })
            .as_object()
            .unwrap()
            .clone(),
        )
        .expect("sorting config")
    }

    /// The notebook: `torch.optim.Adam(lr=1e-3)` (no decay, no schedule), a fresh batch of 16
    /// every step for `num_epochs = 50001` steps, seed 123.
    fn recipe(&self) -> Recipe {
        Recipe {
            optim: Optim::adam(1e-3),
            schedule: Schedule::Constant,
            batch_size: 16,
            steps: 50_001,
            seed: 123,
            init: InitKind::TransformerLens,
            freeze: None,
            target: Target { max_loss: None, min_accuracy: Some(0.99) },
            eval_every: 2500,
        }
    }

    fn train_data(&self, _seed: u64) -> TrainData {
        TrainData::Fresh
    }

    fn sample(&self, rng: &mut StdRng, n: usize) -> Batch {
        generate(rng, n)
    }

    fn held_out(&self) -> Batch {
        generate(&mut StdRng::seed_from_u64(HELD_OUT_SEED), HELD_OUT)
    }

    /// `START x1..x20 STOP` and up to 20 more values; the targets are the true sort of x
    /// (whatever was typed after STOP).
    fn label(&self, tokens: &Tokens) -> Result<Vec<i64>> {
        if !(STOP_POS + 1..=N_CTX).contains(&tokens.pos) {
            return Err(Error::Tokens(format!(
                "sorting: sequences are START, 20 values, STOP, then up to 20 sorted values \
                 (22 to 42 tokens), got {}",
                tokens.pos
            )));
        }
        super::check_tokens("sorting", tokens, |p, t| match p {
            0 => (t != START).then_some("START (token 30)"),
            STOP_POS => (t != STOP).then_some("STOP (token 31)"),
            _ => (!(0..MAX_TOKEN).contains(&t)).then_some("a value 0..=29"),
        })?;
        Ok(tokens.ids.chunks(tokens.pos).flat_map(row_targets).collect())
    }

    fn token_str(&self, id: i64) -> String {
        match id {
            START => "START".into(),
            STOP => "STOP".into(),
            0..MAX_TOKEN => id.to_string(),
            _ => format!("<{id}>"),
        }
    }

    /// Accuracy on the sorted half: per token, per whole sequence (all 20 right), and per
    /// output position (index k predicts the k-th smallest).
    fn figures(&self, batch: &Batch, logits: &[f32], d_vocab_out: usize) -> Value {
        let p = batch.tokens.pos;
        if logits.len() != batch.targets.len() * d_vocab_out || p <= STOP_POS {
            return json!({ "error": "sorting figures need rows through STOP and their logits" });
        }
        let n_scored = (p - STOP_POS).min(LIST_LEN);
        let mut per_pos = vec![0usize; n_scored];
        let mut whole = 0usize;
        for r in 0..batch.len() {
            let mut all = true;
            for (k, hits) in per_pos.iter_mut().enumerate() {
                let i = r * p + STOP_POS + k;
                let row = &logits[i * d_vocab_out..(i + 1) * d_vocab_out];
                let ok = argmax(row) as i64 == batch.targets[i];
                *hits += ok as usize;
                all &= ok;
            }
            whole += all as usize;
        }
        let n = batch.len().max(1) as f64;
        json!({
            "token_accuracy": per_pos.iter().sum::<usize>() as f64 / (n * n_scored as f64),
            "sequence_accuracy": whole as f64 / n,
            "position_accuracy": per_pos.iter().map(|&h| h as f64 / n).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_labels_match_a_sort() {
        let b = generate(&mut StdRng::seed_from_u64(1), 2000);
        // The labeller's own output, checked against the brute force below (not against the
        // generator, which shares its code).
        let labels = Sorting.label(&b.tokens).unwrap();
        for (row, tg) in b.tokens.ids.chunks(N_CTX).zip(labels.chunks(N_CTX)) {
            assert_eq!((row[0], row[21]), (START, STOP));
            let mut x = row[1..21].to_vec();
            x.sort();
            assert_eq!(&row[22..], &x[..]);
            // The notebook's lm loss from offset 21: logits[21..41] against tokens[22..42].
            assert_eq!(&tg[21..41], &row[22..42]);
            assert!(tg[..21].iter().all(|&t| t == IGNORE) && tg[41] == IGNORE);
        }
        let vals: Vec<i64> = b.tokens.ids.chunks(N_CTX).flat_map(|r| r[1..21].to_vec()).collect();
        assert_eq!(vals.iter().min(), Some(&0));
        assert_eq!(vals.iter().max(), Some(&29));
    }

    #[test]
    fn label_sorts_what_was_given_not_what_was_typed() {
        let mut ids = vec![START];
        ids.extend((0..20).rev());
        ids.push(STOP);
        ids.extend([7, 7]);
        let t = Sorting.label(&Tokens { batch: 1, pos: 24, ids }).unwrap();
        assert_eq!(&t[21..24], &[0, 1, 2]);
    }

    #[test]
    fn rejects_bad_layout() {
        let b = generate(&mut StdRng::seed_from_u64(2), 1);
        let bad = |f: &dyn Fn(&mut Vec<i64>)| {
            let mut ids = b.tokens.ids.clone();
            f(&mut ids);
            let pos = ids.len();
            Sorting.label(&Tokens { batch: 1, pos, ids }).unwrap_err().to_string()
        };
        let e = bad(&|v| v[0] = 3);
        assert!(e.contains("position 0 must be START"), "{e}");
        let e = bad(&|v| v[21] = 3);
        assert!(e.contains("position 21 must be STOP"), "{e}");
        let e = bad(&|v| v[30] = START);
        assert!(e.contains("position 30 must be a value"), "{e}");
        let e = bad(&|v| v.truncate(21));
        assert!(e.contains("22 to 42"), "{e}");
    }

    #[test]
    fn figures_score_the_sorted_half() {
        let b = generate(&mut StdRng::seed_from_u64(3), 10);
        let v = 32;
        let mut logits = vec![0f32; b.targets.len() * v];
        for (i, &t) in b.targets.iter().enumerate() {
            logits[i * v + t.max(0) as usize] = 5.0;
        }
        // Break one position of sequence 0 only.
        let i = 21 + 4;
        logits[i * v..(i + 1) * v].fill(0.0);
        logits[i * v + ((b.targets[i] + 1) % 30) as usize] = 5.0;
        let f = Sorting.figures(&b, &logits, v);
        assert!((f["token_accuracy"].as_f64().unwrap() - 199.0 / 200.0).abs() < 1e-12);
        assert!((f["sequence_accuracy"].as_f64().unwrap() - 0.9).abs() < 1e-12);
        assert!((f["position_accuracy"][4].as_f64().unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(f["position_accuracy"].as_array().unwrap().len(), 20);
    }

    #[test]
    fn deterministic_and_configured() {
        let a = generate(&mut StdRng::seed_from_u64(4), 8);
        assert_eq!(a.tokens.ids, generate(&mut StdRng::seed_from_u64(4), 8).tokens.ids);
        assert_ne!(a.tokens.ids, generate(&mut StdRng::seed_from_u64(5), 8).tokens.ids);
        let c = Sorting.config();
        assert_eq!((c.n_params(), c.n_params_tl()), (7_648, 4_096));
        assert!(c.use_attn_result && c.attn_only);
        assert_eq!(
            (Sorting.token_str(30), Sorting.token_str(31), Sorting.token_str(0)),
            ("START".into(), "STOP".into(), "0".into())
        );
    }
}
