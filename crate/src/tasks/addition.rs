//! Five-digit addition (Nanda's grokking "5 digit addition", as extended by the Addition
//! Interpretability notebook): `XXXXX+YYYYY=ZZZZZZ`, all numbers most-significant digit first,
//! the 6-digit sum with a leading 0 when there is no final carry. `+` is 10, `=` is 11.
//! The loss scores the 6 answer digits, each predicted at the position before it (11..=16).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Batch, IGNORE, Task, TrainData};
use crate::error::{Error, Result};
use crate::model::{HookedTransformerConfig, Tokens};
use crate::train::loss::{argmax, token_losses};
use crate::train::recipe::{InitKind, Optim, Recipe, Schedule, Target};

pub const NUM_DIGITS: usize = 5;
pub const PLUS: i64 = 10;
pub const EQUALS: i64 = 11;
/// `3·num_digits + 3`.
pub const N_CTX: usize = 3 * NUM_DIGITS + 3;
const PLUS_POS: usize = NUM_DIGITS;
const EQUALS_POS: usize = 2 * NUM_DIGITS + 1;
/// The first position whose prediction is scored (it predicts the sum's leading digit).
const FIRST_SCORED: usize = EQUALS_POS;
const HELD_OUT: usize = 1000;
const HELD_OUT_SEED: u64 = 0x5eed_add0_0000_1000;

#[derive(Default)]
pub struct Addition;

/// `n` as `k` decimal digits, most significant first.
fn digits(mut n: u64, k: usize) -> Vec<i64> {
    let mut d = vec![0; k];
    for x in d.iter_mut().rev() {
        *x = (n % 10) as i64;
        n /= 10;
    }
    d
}

fn number(ds: &[i64]) -> u64 {
    ds.iter().fold(0, |n, &d| n * 10 + d as u64)
}

/// The answer digits for a row's operands.
fn answer(row: &[i64]) -> Vec<i64> {
    let x = number(&row[..PLUS_POS]);
    let y = number(&row[PLUS_POS + 1..EQUALS_POS]);
    digits(x + y, NUM_DIGITS + 1)
}

fn row_targets(row: &[i64]) -> Vec<i64> {
    let mut t = vec![IGNORE; row.len()];
    for (i, d) in answer(row).into_iter().enumerate() {
        if let Some(slot) = t.get_mut(FIRST_SCORED + i) {
            *slot = d;
        }
    }
    t
}

pub fn generate(rng: &mut StdRng, n: usize) -> Batch {
    let mut ids = Vec::with_capacity(n * N_CTX);
    for _ in 0..n {
        let start = ids.len();
        // Digit by digit, as the notebook draws them (each uniform 0..=9).
        ids.extend((0..NUM_DIGITS).map(|_| rng.random_range(0..10i64)));
        ids.push(PLUS);
        ids.extend((0..NUM_DIGITS).map(|_| rng.random_range(0..10i64)));
        ids.push(EQUALS);
        let z = answer(&ids[start..]);
        ids.extend(z);
    }
    let targets = ids.chunks(N_CTX).flat_map(row_targets).collect();
    Batch { tokens: Tokens { batch: n, pos: N_CTX, ids }, targets }
}

/// The notebook's sub-tasks for one answer column (its `base_adds`/`use_carry1s`/`sum9s`):
/// BaseAdd when no carry comes in, UseCarry1 when one does and the column's digits don't sum
/// to 9, UseSum9 when one does and they do (the carry then cascades). They partition the columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubTask {
    BaseAdd,
    UseCarry1,
    UseSum9,
}

/// One answer column of a sum, as the notebook's `data_generator` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The two operand digits' sum.
    pub base_add: i64,
    /// A carry comes in from the column to the right.
    pub use_carry: bool,
    /// The column carries into the next one.
    pub make_carry: bool,
}

impl Column {
    pub fn sum9(&self) -> bool {
        self.base_add == 9
    }

    pub fn sub_task(&self) -> SubTask {
        match (self.use_carry, self.sum9()) {
            (false, _) => SubTask::BaseAdd,
            (true, false) => SubTask::UseCarry1,
            (true, true) => SubTask::UseSum9,
        }
    }
}

/// The columns of a sum of `num_digits`-digit operands (`row`: a, +, b, … in the task's
/// layout), units first (the notebook's `digit_num`); the leading answer digit has none. The
/// one place the carries are worked out: the task's figures and the analyses read it.
pub fn columns(row: &[i64], num_digits: usize) -> Vec<Column> {
    let mut carry = false;
    (0..num_digits)
        .map(|c| {
            let base_add = row[num_digits - 1 - c] + row[2 * num_digits - c];
            let col = Column { base_add, use_carry: carry, make_carry: base_add + carry as i64 >= 10 };
            carry = col.make_carry;
            col
        })
        .collect()
}

/// Per column, units first; the leading sixth digit has none.
pub fn sub_tasks(row: &[i64]) -> Vec<SubTask> {
    columns(row, NUM_DIGITS).iter().map(Column::sub_task).collect()
}

/// The notebook's loss series of one batch (what its training loop logs every step):
/// per answer token, "tok 0" (the carry digit) … "tok 5" (units), and per digit (`digit_num`,
/// 0 = units) over the cases of each sub-task, plus its aggregate curves. A per-digit value is
/// 0 where the batch has no case (the notebook's value then); an aggregate over no case is
/// NaN (null in JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotebookLosses {
    pub per_token: Vec<f32>,
    /// BaseAdd over all digits: the sums with no carry anywhere, their digits after the first.
    pub ba_alldigits: f32,
    pub ba_perdigit: Vec<f32>,
    /// UseCarry1 over any digit: the sums that use a carry but never through a 9.
    pub uc1_anydigits: f32,
    pub uc1_perdigit: Vec<f32>,
    /// UseSum9 split as the notebook splits it: sums with one such column, and with two.
    pub us9_onedigit: f32,
    pub us9_twodigits: f32,
    pub us9_perdigit: Vec<f32>,
    pub ba_perdigit_cases: Vec<usize>,
    pub uc1_perdigit_cases: Vec<usize>,
    pub us9_perdigit_cases: Vec<usize>,
    /// How many sums have one, and two, UseSum9 columns.
    pub us9_onedigit_cases: usize,
    pub us9_twodigits_cases: usize,
}

/// `NotebookLosses` of `tokens` (complete sums of `num_digits`-digit operands) from `lp`, the
/// log-probability of each answer token [batch, num_digits + 1] (the notebook's
/// `get_pred_log_probs`).
pub fn notebook_losses(tokens: &Tokens, lp: &[f64], num_digits: usize) -> Result<NotebookLosses> {
    let (nd, na, b) = (num_digits, num_digits + 1, tokens.batch);
    if tokens.pos != 3 * nd + 3 || lp.len() != b * na {
        return Err(Error::Tokens(format!(
            "addition: {} log-probs for {b} sums of {} tokens (want {na} a sum of {})",
            lp.len(),
            tokens.pos,
            3 * nd + 3
        )));
    }
    let cols: Vec<Vec<Column>> = tokens.ids.chunks(tokens.pos).map(|row| columns(row, nd)).collect();
    let at = |e: usize, j: usize| lp[e * na + j]; // j indexes the na answer tokens
    let mean_rows = |rows: &[usize], from: usize| -> f32 {
        if rows.is_empty() {
            return f32::NAN;
        }
        let s: f64 = rows.iter().flat_map(|&e| (from..na).map(move |j| at(e, j))).sum();
        (-s / (rows.len() * (na - from)) as f64) as f32
    };
    let tok = |d: usize| na - 1 - d; // digit_num → answer token
    let per_digit = |keep: &dyn Fn(&Column) -> bool| -> (Vec<f32>, Vec<usize>) {
        (0..nd)
            .map(|d| {
                let rows: Vec<usize> = (0..b).filter(|&e| keep(&cols[e][d])).collect();
                let s: f64 = rows.iter().map(|&e| at(e, tok(d))).sum();
                (if rows.is_empty() { 0.0 } else { (-s / rows.len() as f64) as f32 }, rows.len())
            })
            .unzip()
    };
    let (ba_perdigit, ba_perdigit_cases) = per_digit(&|c| c.sub_task() == SubTask::BaseAdd);
    let (uc1_perdigit, uc1_perdigit_cases) = per_digit(&|c| c.sub_task() == SubTask::UseCarry1);
    let (us9_perdigit, us9_perdigit_cases) = per_digit(&|c| c.sub_task() == SubTask::UseSum9);
    let count = |e: usize, t: SubTask| cols[e].iter().filter(|c| c.sub_task() == t).count();
    let rows = |keep: &dyn Fn(usize) -> bool| (0..b).filter(|&e| keep(e)).collect::<Vec<_>>();
    let no_carry = rows(&|e| cols[e].iter().all(|c| !c.use_carry));
    let carry_no9 = rows(&|e| count(e, SubTask::UseCarry1) > 0 && count(e, SubTask::UseSum9) == 0);
    let one9 = rows(&|e| count(e, SubTask::UseSum9) == 1);
    let two9 = rows(&|e| count(e, SubTask::UseSum9) == 2);
    Ok(NotebookLosses {
        per_token: (0..na).map(|j| (-(0..b).map(|e| at(e, j)).sum::<f64>() / b as f64) as f32).collect(),
        // The notebook's 0 when the batch has no such sum.
        ba_alldigits: if no_carry.is_empty() { 0.0 } else { mean_rows(&no_carry, 1) },
        ba_perdigit,
        uc1_anydigits: mean_rows(&carry_no9, 0),
        uc1_perdigit,
        us9_onedigit: mean_rows(&one9, 0),
        us9_twodigits: mean_rows(&two9, 0),
        us9_perdigit,
        ba_perdigit_cases,
        uc1_perdigit_cases,
        us9_perdigit_cases,
        us9_onedigit_cases: one9.len(),
        us9_twodigits_cases: two9.len(),
    })
}

/// `NotebookLosses` of a training batch from its per-position losses [batch, N_CTX].
fn step_losses(batch: &Batch, nll: &[f32]) -> Result<Value> {
    let (p, na) = (batch.tokens.pos, NUM_DIGITS + 1);
    if p != N_CTX || nll.len() != batch.len() * p {
        return Err(Error::Training(format!("addition: {} losses for {} sums of {p} tokens", nll.len(), batch.len())));
    }
    let lp: Vec<f64> =
        (0..batch.len()).flat_map(|r| (0..na).map(move |k| -(nll[r * p + FIRST_SCORED + k] as f64))).collect();
    // Through text: serde_json writes an f32 in its shortest digits, a Value in an f64's
    // (17 of them), and this is logged every step (3000 lines of the pretrained run).
    let text = serde_json::to_string(&notebook_losses(&batch.tokens, &lp, NUM_DIGITS)?);
    text.and_then(|t| serde_json::from_str(&t)).map_err(|e| Error::Io(e.to_string()))
}

fn mean(sum: f64, n: usize) -> Value {
    if n == 0 { Value::Null } else { json!(sum / n as f64) }
}

impl Task for Addition {
    fn id(&self) -> &'static str {
        "addition"
    }

    /// The notebook's own transformer in TL terms: 1 layer, 4 heads of 128, d_mlp 2048 ReLU, no
    /// LayerNorm, and (its `d_vocab_out=10` commented out) an unembed over all 12 tokens.
    fn config(&self) -> HookedTransformerConfig {
        HookedTransformerConfig::from_map(
            serde_json::json!({
                "n_layers": 1, "d_vocab": 12, "d_vocab_out": 12, "d_model": 512, "n_heads": 4,
                "d_head": 128, "d_mlp": 2048, "n_ctx": 18, "act_fn": "relu",
                "normalization_type": null, "seed": 129000,
            })
            .as_object()
            .unwrap()
            .clone(),
        )
        .expect("addition config")
    }

    /// The notebook: `AdamW(lr=1e-4, weight_decay=0.1, betas=(0.9, 0.98))`,
    /// `LambdaLR(lambda step: min(step/10, 1))` stepped per batch, batch 64 of fresh data for
    /// 3000 steps, `torch.manual_seed(129000)` for both weights and data, weights
    /// ~ N(0, 1/d_model) and W_U ~ N(0, 1/d_vocab). Its model has no attention biases and no
    /// b_U (only the MLP's b_in, b_out), so those TL parameters stay frozen at zero.
    /// Its run ends at train loss ≈ 0.055–0.066.
    fn recipe(&self) -> Recipe {
        Recipe {
            optim: Optim::AdamW { lr: 1e-4, beta1: 0.9, beta2: 0.98, eps: 1e-8, weight_decay: 0.1 },
            schedule: Schedule::Warmup { steps: 10 },
            batch_size: 64,
            steps: 3000,
            seed: 129000,
            init: InitKind::Notebook,
            freeze: Some("\\.attn\\.b_|\\.b_U".into()),
            target: Target { max_loss: Some(0.06), min_accuracy: None },
            eval_every: 150,
        }
    }

    /// The notebook draws randn/√d_model for every weight and randn/√d_vocab for W_U.
    fn notebook_init(&self, cfg: &HookedTransformerConfig) -> Option<super::StdRule> {
        let (d_model, d_out) = (cfg.d_model as f64, cfg.d_vocab_out as f64);
        Some(Box::new(move |name: &str, _shape: &[usize]| {
            Some(if name == "unembed.W_U" { 1.0 / d_out.sqrt() } else { 1.0 / d_model.sqrt() })
        }))
    }

    /// The notebook logs its sub-task losses of every training batch: so do we.
    fn step_figures(&self) -> Option<super::StepFigures> {
        Some(step_losses)
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

    /// `XXXXX+YYYYY=` followed by up to 6 answer digits (what the user typed there is not
    /// checked against the sum: the targets are the true sum's digits).
    fn label(&self, tokens: &Tokens) -> Result<Vec<i64>> {
        if !(EQUALS_POS + 1..=N_CTX).contains(&tokens.pos) {
            return Err(Error::Tokens(format!(
                "addition: sequences are XXXXX+YYYYY=ZZZZZZ, from 12 to 18 tokens, got {}",
                tokens.pos
            )));
        }
        super::check_tokens("addition", tokens, |p, t| match p {
            PLUS_POS => (t != PLUS).then_some("`+` (token 10)"),
            EQUALS_POS => (t != EQUALS).then_some("`=` (token 11)"),
            _ => (!(0..10).contains(&t)).then_some("a digit 0..=9"),
        })?;
        Ok(tokens.ids.chunks(tokens.pos).flat_map(row_targets).collect())
    }

    fn token_str(&self, id: i64) -> String {
        match id {
            0..=9 => id.to_string(),
            PLUS => "+".into(),
            EQUALS => "=".into(),
            _ => format!("<{id}>"),
        }
    }

    /// Per answer digit (reading order, the notebook's "tok 0".."tok 5"): mean loss and
    /// accuracy. Per column (units first, the notebook's `digit_num`) and sub-task: how many
    /// cases, their mean loss and accuracy (null when there are none).
    fn figures(&self, batch: &Batch, logits: &[f32], d_vocab_out: usize) -> Value {
        if let Err(e) = self.label(&batch.tokens) {
            return json!({ "error": e.to_string() });
        }
        if batch.tokens.pos != N_CTX || logits.len() != batch.targets.len() * d_vocab_out {
            return json!({ "error": "addition figures need complete 18-token rows and their logits" });
        }
        let losses = token_losses(logits, batch, d_vocab_out);
        let correct = |i: usize| argmax(&logits[i * d_vocab_out..(i + 1) * d_vocab_out]) as i64 == batch.targets[i];
        let n = batch.len();
        let (mut d_loss, mut d_acc) = ([0f64; NUM_DIGITS + 1], [0usize; NUM_DIGITS + 1]);
        // [sub-task][column] → (count, loss sum, correct)
        let mut cat = [[(0usize, 0f64, 0usize); NUM_DIGITS]; 3];
        for (r, row) in batch.tokens.ids.chunks(N_CTX).enumerate() {
            for k in 0..=NUM_DIGITS {
                let i = r * N_CTX + FIRST_SCORED + k;
                d_loss[k] += losses[i] as f64;
                d_acc[k] += correct(i) as usize;
            }
            for (c, t) in sub_tasks(row).into_iter().enumerate() {
                // Column c's digit is the answer's (5 − c)-th, predicted at position 16 − c.
                let i = r * N_CTX + N_CTX - 2 - c;
                let e = &mut cat[t as usize][c];
                e.0 += 1;
                e.1 += losses[i] as f64;
                e.2 += correct(i) as usize;
            }
        }
        let block = |t: usize| {
            json!({
                "count": cat[t].iter().map(|e| e.0).collect::<Vec<_>>(),
                "loss": cat[t].iter().map(|e| mean(e.1, e.0)).collect::<Vec<_>>(),
                "accuracy": cat[t].iter().map(|e| mean(e.2 as f64, e.0)).collect::<Vec<_>>(),
            })
        };
        json!({
            "digits": ["100000s", "10000s", "1000s", "100s", "10s", "1s"],
            "digit_loss": d_loss.iter().map(|s| mean(*s, n)).collect::<Vec<_>>(),
            "digit_accuracy": d_acc.iter().map(|c| mean(*c as f64, n)).collect::<Vec<_>>(),
            "columns": ["1s", "10s", "100s", "1000s", "10000s"],
            "BaseAdd": block(SubTask::BaseAdd as usize),
            "UseCarry1": block(SubTask::UseCarry1 as usize),
            "UseSum9": block(SubTask::UseSum9 as usize),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_numbers(row: &[i64]) -> (u64, u64, u64) {
        let s = |r: &[i64]| r.iter().map(|d| char::from(b'0' + *d as u8)).collect::<String>().parse::<u64>().unwrap();
        (s(&row[0..5]), s(&row[6..11]), s(&row[12..18]))
    }

    #[test]
    fn layout_and_labels_match_integer_sums() {
        let b = generate(&mut StdRng::seed_from_u64(2), 3000);
        // The labeller's own output, checked against the brute force below (not against the
        // generator, which shares its code).
        let labels = Addition.label(&b.tokens).unwrap();
        for (row, tg) in b.tokens.ids.chunks(18).zip(labels.chunks(18)) {
            assert_eq!((row[5], row[11]), (PLUS, EQUALS));
            let (x, y, z) = row_numbers(row);
            assert_eq!(x + y, z);
            let want = format!("{:06}", x + y);
            for (k, ch) in want.chars().enumerate() {
                assert_eq!(tg[11 + k], ch.to_digit(10).unwrap() as i64);
            }
            assert!(tg[..11].iter().chain(&tg[17..]).all(|&t| t == IGNORE));
        }
        // The notebook's example: 77426 + 17611 = 095037 (MSB first, leading zero kept).
        let ids = vec![7, 7, 4, 2, 6, 10, 1, 7, 6, 1, 1, 11, 0, 9, 5, 0, 3, 7];
        let t = Addition.label(&Tokens { batch: 1, pos: 18, ids }).unwrap();
        assert_eq!(&t[11..17], &[0, 9, 5, 0, 3, 7]);
    }

    #[test]
    fn label_accepts_prefixes_and_ignores_typed_answers() {
        let mut ids = vec![9, 9, 9, 9, 9, 10, 0, 0, 0, 0, 1, 11];
        let t = Addition.label(&Tokens { batch: 1, pos: 12, ids: ids.clone() }).unwrap();
        assert_eq!(t[11], 1);
        ids.extend([5, 5, 5]);
        let t = Addition.label(&Tokens { batch: 1, pos: 15, ids }).unwrap();
        assert_eq!(&t[11..15], &[1, 0, 0, 0]);
    }

    #[test]
    fn rejects_bad_layout() {
        let bad = |ids: Vec<i64>| {
            let pos = ids.len();
            Addition.label(&Tokens { batch: 1, pos, ids }).unwrap_err().to_string()
        };
        let good = vec![1, 2, 3, 4, 5, 10, 1, 2, 3, 4, 5, 11, 0, 2, 4, 6, 9, 0];
        let mut v = good.clone();
        v[5] = 3;
        let e = bad(v);
        assert!(e.contains("position 5 must be `+`"), "{e}");
        let mut v = good.clone();
        v[11] = 10;
        let e = bad(v);
        assert!(e.contains("position 11 must be `=`"), "{e}");
        let mut v = good.clone();
        v[2] = 11;
        let e = bad(v);
        assert!(e.contains("position 2 must be a digit"), "{e}");
        let e = bad(good[..11].to_vec());
        assert!(e.contains("12 to 18"), "{e}");
    }

    #[test]
    fn sub_tasks_match_brute_force_carries() {
        let b = generate(&mut StdRng::seed_from_u64(11), 4000);
        let mut seen = [0usize; 3];
        for row in b.tokens.ids.chunks(18) {
            let (x, y, _) = row_numbers(row);
            for (c, t) in sub_tasks(row).into_iter().enumerate() {
                let m = 10u64.pow(c as u32);
                let carry_in = x % m + y % m >= m;
                let nine = (x / m) % 10 + (y / m) % 10 == 9;
                let want = if !carry_in {
                    SubTask::BaseAdd
                } else if nine {
                    SubTask::UseSum9
                } else {
                    SubTask::UseCarry1
                };
                assert_eq!(t, want);
                seen[t as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s > 100), "all three sub-tasks occur: {seen:?}");
    }

    #[test]
    fn figures_count_and_score() {
        let b = generate(&mut StdRng::seed_from_u64(12), 500);
        let v = 12;
        // Confident and right everywhere, except the units digit of sequences using a carry there.
        let mut logits = vec![0f32; b.targets.len() * v];
        for (i, &t) in b.targets.iter().enumerate() {
            let (r, p) = (i / 18, i % 18);
            let row = &b.tokens.ids[r * 18..(r + 1) * 18];
            let wrong = p == 16 && sub_tasks(row)[0] != SubTask::BaseAdd;
            let cls = if t == IGNORE {
                0
            } else if wrong {
                (t + 1) % 10
            } else {
                t
            };
            logits[i * v + cls as usize] = 30.0;
        }
        let f = Addition.figures(&b, &logits, v);
        let counts: Vec<usize> =
            ["BaseAdd", "UseCarry1", "UseSum9"].iter().map(|k| f[k]["count"][0].as_u64().unwrap() as usize).collect();
        assert_eq!(counts.iter().sum::<usize>(), 500);
        assert_eq!(counts[0], 500, "no carry comes into the units column");
        for c in 1..5 {
            let n: u64 = ["BaseAdd", "UseCarry1", "UseSum9"].iter().map(|k| f[k]["count"][c].as_u64().unwrap()).sum();
            assert_eq!(n, 500, "sub-tasks partition column {c}");
        }
        // Units are never wrong here (all BaseAdd), so every digit is right.
        for k in 0..6 {
            assert_eq!(f["digit_accuracy"][k].as_f64().unwrap(), 1.0);
            assert!(f["digit_loss"][k].as_f64().unwrap() < 1e-6);
        }
        assert!(f["UseCarry1"]["loss"][0].is_null());

        // Now wrong on the tens column wherever a carry comes in.
        for (i, &t) in b.targets.iter().enumerate() {
            let (r, p) = (i / 18, i % 18);
            if p != 15 {
                continue;
            }
            let row = &b.tokens.ids[r * 18..(r + 1) * 18];
            if sub_tasks(row)[1] != SubTask::BaseAdd {
                logits[i * v..(i + 1) * v].fill(0.0);
                logits[i * v + ((t + 1) % 10) as usize] = 30.0;
            }
        }
        let f = Addition.figures(&b, &logits, v);
        assert_eq!(f["BaseAdd"]["accuracy"][1].as_f64().unwrap(), 1.0);
        assert_eq!(f["UseCarry1"]["accuracy"][1].as_f64().unwrap(), 0.0);
        assert_eq!(f["UseSum9"]["accuracy"][1].as_f64().unwrap(), 0.0);
        assert!(f["UseCarry1"]["loss"][1].as_f64().unwrap() > 25.0);
        let base = f["BaseAdd"]["count"][1].as_f64().unwrap();
        let acc = f["digit_accuracy"][4].as_f64().unwrap();
        assert!((acc - base / 500.0).abs() < 1e-12, "tens digit accuracy = share of BaseAdd cases");
    }

    #[test]
    fn deterministic_and_configured() {
        let a = generate(&mut StdRng::seed_from_u64(5), 20);
        assert_eq!(a.tokens.ids, generate(&mut StdRng::seed_from_u64(5), 20).tokens.ids);
        assert_ne!(a.tokens.ids, generate(&mut StdRng::seed_from_u64(6), 20).tokens.ids);
        assert_eq!(Addition.held_out().tokens.ids, Addition.held_out().tokens.ids);
        let c = Addition.config();
        assert_eq!((c.n_params(), c.n_params_tl()), (3_171_852, 3_145_728));
        let re = regex::Regex::new(Addition.recipe().freeze.as_deref().unwrap()).unwrap();
        for name in ["blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U"]
        {
            assert!(re.is_match(name), "{name} should be frozen");
        }
        for name in ["blocks.0.mlp.b_in", "blocks.0.mlp.b_out", "blocks.0.attn.W_Q", "unembed.W_U", "pos_embed.W_pos"] {
            assert!(!re.is_match(name), "{name} should train");
        }
        let s: String = [1, 10, 2, 11, 3].iter().map(|&i| Addition.token_str(i)).collect();
        assert_eq!(s, "1+2=3");
    }

    // The notebook's series against a brute force that finds carries and 9-columns by integer
    // arithmetic on the operands, not through `columns`.
    #[test]
    fn notebook_losses_match_brute_force() {
        let b = generate(&mut StdRng::seed_from_u64(9), 400);
        let (n, na) = (b.len(), 6);
        // A distinct log-prob per (sum, answer token).
        let lp: Vec<f64> = (0..n * na).map(|i| -(((i * 7919) % 1000) as f64) / 250.0).collect();
        let got = notebook_losses(&b.tokens, &lp, NUM_DIGITS).unwrap();
        let (mut carry_in, mut nine) = (vec![[false; 5]; n], vec![[false; 5]; n]);
        for (e, row) in b.tokens.ids.chunks(18).enumerate() {
            let (x, y) = (number(&row[..5]), number(&row[6..11]));
            for d in 0..5 {
                let m = 10u64.pow(d as u32);
                carry_in[e][d] = x % m + y % m >= m;
                nine[e][d] = (x / m) % 10 + (y / m) % 10 == 9;
            }
        }
        let close = |a: f32, b: f64| assert!((a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        for d in 0..5 {
            let tok = 5 - d;
            for (k, (got, cases)) in [
                (&got.ba_perdigit, &got.ba_perdigit_cases),
                (&got.uc1_perdigit, &got.uc1_perdigit_cases),
                (&got.us9_perdigit, &got.us9_perdigit_cases),
            ]
            .into_iter()
            .enumerate()
            {
                let keep = |e: usize| match k {
                    0 => !carry_in[e][d],
                    1 => carry_in[e][d] && !nine[e][d],
                    _ => carry_in[e][d] && nine[e][d],
                };
                let v: Vec<f64> = (0..n).filter(|&e| keep(e)).map(|e| -lp[e * na + tok]).collect();
                assert_eq!(cases[d], v.len());
                close(got[d], if v.is_empty() { 0.0 } else { mean(&v) });
            }
        }
        let lp = &lp;
        let rows_mean = |keep: &dyn Fn(usize) -> bool, from: usize| {
            mean(
                &(0..n).filter(|&e| keep(e)).flat_map(|e| (from..na).map(move |j| -lp[e * na + j])).collect::<Vec<_>>(),
            )
        };
        let n9 = |e: usize| (0..5).filter(|&d| carry_in[e][d] && nine[e][d]).count();
        let any_carry = |e: usize| carry_in[e].iter().any(|&c| c);
        close(got.ba_alldigits, rows_mean(&|e| !any_carry(e), 1));
        close(got.uc1_anydigits, rows_mean(&|e| any_carry(e) && n9(e) == 0, 0));
        close(got.us9_onedigit, rows_mean(&|e| n9(e) == 1, 0));
        close(got.us9_twodigits, rows_mean(&|e| n9(e) == 2, 0));
        assert_eq!(got.us9_onedigit_cases, (0..n).filter(|&e| n9(e) == 1).count());
        assert!(got.us9_onedigit_cases > 0 && got.us9_twodigits_cases > 0, "400 sums hold both cascades");
        for j in 0..na {
            close(got.per_token[j], mean(&(0..n).map(|e| -lp[e * na + j]).collect::<Vec<_>>()));
        }
    }
}
