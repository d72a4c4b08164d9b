//! The 5-digit addition notebook's sub-task losses on one batch: per answer token, and per
//! digit for the BaseAdd / UseCarry1 / UseSum9 categories its data generator derives from the
//! operands. A training loop calls this each step to draw the notebook's curves over training.
//!
//! Layout `XXXXX+YYYYY=ZZZZZZ`: the answer's 6 tokens are predicted at the 6 positions before
//! the last. Category arrays are indexed like the notebook's: column 0 = most significant digit;
//! per-digit results are indexed by `digit_num`, 0 = units.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::ablation::{Ablation, Target};
use super::labeled::{LabeledTensor, to_vec};
use super::run::{CachedRun, Positions};
use crate::error::{Error, Result};
use crate::model::Tokens;
use crate::tasks::addition::{self, NotebookLosses};
use crate::train::loss::argmax;

/// The notebook generator's per-example attributes, [batch][num_digits] each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Categories {
    pub base_adds: Vec<Vec<i64>>,
    pub make_carry1s: Vec<Vec<i64>>,
    pub sum9s: Vec<Vec<i64>>,
    pub use_carry1s: Vec<Vec<i64>>,
    pub use_sum9s: Vec<Vec<i64>>,
    /// No column uses a carry: BaseAdd alone gives the answer.
    pub base_add_only: Vec<bool>,
    /// Some column uses a carry and none uses Sum9.
    pub use_carry1_only: Vec<bool>,
    /// Some column uses Sum9 (a carry into a column summing to 9).
    pub use_sum9: Vec<bool>,
}

/// Recomputes the generator's attributes from the operand tokens (`data_generator`'s loop).
pub fn categories(tokens: &Tokens, num_digits: usize) -> Result<Categories> {
    let nd = num_digits;
    if tokens.pos != 3 * nd + 3 {
        return Err(Error::Tokens(format!("addition sequences have {} tokens, found {}", 3 * nd + 3, tokens.pos)));
    }
    let b = tokens.batch;
    let mut c = Categories {
        base_adds: vec![vec![0; nd]; b],
        make_carry1s: vec![vec![0; nd]; b],
        sum9s: vec![vec![0; nd]; b],
        use_carry1s: vec![vec![0; nd]; b],
        use_sum9s: vec![vec![0; nd]; b],
        base_add_only: vec![],
        use_carry1_only: vec![],
        use_sum9: vec![],
    };
    for e in 0..b {
        let row = &tokens.ids[e * tokens.pos..(e + 1) * tokens.pos];
        // The task's columns are units first; the generator's attributes, most significant first.
        for (i, k) in addition::columns(row, nd).into_iter().enumerate() {
            let col = nd - 1 - i;
            c.base_adds[e][col] = k.base_add;
            c.sum9s[e][col] = k.sum9() as i64;
            c.use_carry1s[e][col] = k.use_carry as i64;
            c.use_sum9s[e][col] = (k.sum9() && k.use_carry) as i64;
            c.make_carry1s[e][col] = k.make_carry as i64;
        }
        let any = |v: &[i64]| v.iter().any(|&x| x != 0);
        c.base_add_only.push(!any(&c.use_carry1s[e]));
        c.use_carry1_only.push(any(&c.use_carry1s[e]) && !any(&c.use_sum9s[e]));
        c.use_sum9.push(any(&c.use_sum9s[e]));
    }
    Ok(c)
}

/// The notebook's loss series of one batch (`tasks::addition::notebook_losses`, what its
/// training loop logs every step) with the generator's attributes of each sum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdditionLosses {
    #[serde(flatten)]
    pub losses: NotebookLosses,
    pub categories: Categories,
}

/// `get_pred_log_probs`: log p(answer token) at the answer positions, [batch, num_digits + 1].
pub fn pred_log_probs(logits: Tensor<3>, tokens: &Tokens, num_digits: usize) -> Result<Tensor<2>> {
    let [b, p, v] = logits.dims();
    let na = num_digits + 1;
    if p != tokens.pos || b != tokens.batch || p < na + 1 {
        return Err(Error::Tokens("logits and tokens disagree, or sequences are too short".into()));
    }
    let ans: Vec<i32> =
        (0..b).flat_map(|e| tokens.ids[e * p + p - na..(e + 1) * p].iter().map(|&t| t as i32)).collect();
    if let Some(t) = ans.iter().find(|&&t| t < 0 || t as usize >= v) {
        return Err(Error::Tokens(format!("answer token {t} is outside 0..{v}")));
    }
    let idx = Tensor::<3, Int>::from_data(TensorData::new(ans, [b, na, 1]), &logits.device());
    Ok(log_softmax(logits.slice([0..b, p - na - 1..p - 1]), 2).gather(2, idx).reshape([b, na]))
}

pub fn addition_losses(logits: Tensor<3>, tokens: &Tokens, num_digits: usize) -> Result<AdditionLosses> {
    let categories = categories(tokens, num_digits)?;
    let lp: Vec<f64> = to_vec(pred_log_probs(logits, tokens, num_digits)?)?.iter().map(|&x| x as f64).collect();
    Ok(AdditionLosses { losses: addition::notebook_losses(tokens, &lp, num_digits)?, categories })
}

/// Mean loss, accuracy and logit of the right digit at each answer position of `logits`
/// [batch, pos, vocab] (reading order: "tok 0", the carry, … "tok 5", the units), against the
/// task's targets (one per (batch, pos), −1 where unscored), with the argmax at those positions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigitScores {
    pub loss: Vec<f32>,
    pub accuracy: Vec<f32>,
    pub logit: Vec<f32>,
    /// [batch][answer token]
    pub predicted: Vec<Vec<i64>>,
}

/// The answer tokens' names, most significant first: "100000s" … "1s".
pub fn digit_names(num_digits: usize) -> Vec<String> {
    (0..=num_digits).rev().map(|k| format!("{}s", 10u64.pow(k as u32))).collect()
}

pub fn digit_scores(logits: Tensor<3>, targets: &[i64], num_digits: usize) -> Result<DigitScores> {
    let [b, p, v] = logits.dims();
    let na = num_digits + 1;
    if p < na + 1 || targets.len() != b * p {
        return Err(Error::Tokens(format!(
            "addition: {} targets for {b}×{p} positions of {na} answer digits",
            targets.len()
        )));
    }
    let first = p - na - 1;
    let answer: Vec<i64> = (0..b).flat_map(|e| targets[e * p + first..e * p + first + na].to_vec()).collect();
    answer_scores(logits.slice([0..b, first..first + na, 0..v]), &answer)
}

/// `digit_scores` from the logits at the answer positions only [batch, answer digit, vocab]
/// and their targets [batch · answer digits].
pub fn answer_scores(logits: Tensor<3>, targets: &[i64]) -> Result<DigitScores> {
    let [b, na, v] = logits.dims();
    if targets.len() != b * na {
        return Err(Error::Tokens(format!("addition: {} targets for {b} sums of {na} answer digits", targets.len())));
    }
    let host = to_vec(logits)?;
    let (mut loss, mut acc, mut logit, mut n) = (vec![0f64; na], vec![0f64; na], vec![0f64; na], vec![0usize; na]);
    let mut predicted = vec![vec![0i64; na]; b];
    for e in 0..b {
        for k in 0..na {
            let row = &host[(e * na + k) * v..(e * na + k + 1) * v];
            let best = argmax(row);
            predicted[e][k] = best as i64;
            let t = targets[e * na + k];
            if t < 0 || t as usize >= v {
                continue;
            }
            let m = row.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x)) as f64;
            let lse = m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
            loss[k] += lse - row[t as usize] as f64;
            logit[k] += row[t as usize] as f64;
            acc[k] += (best as i64 == t) as u8 as f64;
            n[k] += 1;
        }
    }
    let mean =
        |s: Vec<f64>| s.iter().zip(&n).map(|(x, &c)| if c == 0 { f32::NAN } else { (x / c as f64) as f32 }).collect();
    Ok(DigitScores { loss: mean(loss), accuracy: mean(acc), logit: mean(logit), predicted })
}

/// A table of scores [row, answer digit] (loss, accuracy, logit of the right digit), rows named.
#[derive(Clone, Debug, Serialize)]
pub struct DigitTable {
    pub loss: LabeledTensor,
    pub accuracy: LabeledTensor,
    pub logit: LabeledTensor,
    /// The argmax digits of batch row `example` [row, answer digit].
    pub predicted: LabeledTensor,
}

impl DigitTable {
    pub fn new(axis: &str, rows: Vec<String>, scores: &[DigitScores], num_digits: usize, example: usize) -> Self {
        let (r, na) = (rows.len(), num_digits + 1);
        let t = |f: &dyn Fn(&DigitScores) -> Vec<f32>| {
            LabeledTensor::new(vec![r, na], scores.iter().flat_map(f).collect(), &[axis, "digit"])
                .label(axis, rows.clone())
                .label("digit", digit_names(num_digits))
        };
        let pick = |s: &DigitScores| {
            s.predicted.get(example).map_or(vec![f32::NAN; na], |p| p.iter().map(|&d| d as f32).collect())
        };
        Self {
            loss: t(&|s| s.loss.clone()),
            accuracy: t(&|s| s.accuracy.clone()),
            logit: t(&|s| s.logit.clone()),
            predicted: t(&pick),
        }
    }
}

/// The logit lens per answer digit: the accumulated residual stream after the embeddings,
/// after each attention layer and after each MLP, read through the unembedding: how well each
/// point alone would already answer. Rows as `logit_lens` labels them (`0_pre`, `0_mid`, …).
pub fn logit_lens_digits(run: &CachedRun, targets: &[i64], num_digits: usize, example: usize) -> Result<DigitTable> {
    let s = run.logit_lens(run.cfg().has_mlp(), &Positions::All)?;
    let [c, b, p, v] = s.t.dims();
    let scores = (0..c)
        .map(|i| digit_scores(s.t.clone().slice([i..i + 1, 0..b, 0..p, 0..v]).reshape([b, p, v]), targets, num_digits))
        .collect::<Result<Vec<_>>>()?;
    Ok(DigitTable::new("point", s.labels.clone(), &scores, num_digits, example))
}

/// Each answer digit's loss and accuracy with nothing ablated (row `none`), then with each
/// layer's whole attention output, each head (its `hook_z`) and each MLP output ablated in turn.
pub fn digit_ablation(
    run: &CachedRun,
    targets: &[i64],
    kind: Ablation,
    num_digits: usize,
    example: usize,
) -> Result<DigitTable> {
    let cfg = run.cfg();
    let mut parts = vec![];
    for layer in 0..cfg.n_layers {
        parts.push((format!("L{layer} attn"), Target::Component { hook: format!("blocks.{layer}.hook_attn_out") }));
        parts.extend((0..cfg.n_heads).map(|head| (format!("L{layer}H{head}"), Target::Head { layer, head })));
        if cfg.has_mlp() {
            parts.push((format!("L{layer} mlp"), Target::Component { hook: format!("blocks.{layer}.hook_mlp_out") }));
        }
    }
    let mut rows = vec!["none".to_string()];
    let mut scores = vec![digit_scores(run.logits.clone(), targets, num_digits)?];
    // Only the answer positions are scored: each ablation is computed there alone.
    let (b, p, na) = (run.batch(), run.pos(), num_digits + 1);
    if p < na + 1 || targets.len() != b * p {
        return Err(Error::Tokens(format!("addition: {} targets for {b}×{p} positions", targets.len())));
    }
    let answer: Vec<usize> = (p - na - 1..p - 1).collect();
    let answer_targets: Vec<i64> = (0..b).flat_map(|e| answer.iter().map(move |&j| targets[e * p + j])).collect();
    for (name, target) in parts {
        scores.push(answer_scores(run.ablated_at(&target, kind, &answer)?, &answer_targets)?);
        rows.push(name);
    }
    Ok(DigitTable::new("ablated", rows, &scores, num_digits, example))
}

/// How many sums of each kind `category_examples` shows (the notebook's three of each).
pub const EXAMPLES_PER_KIND: usize = 3;

/// Example sums of each kind the notebook shows attention for: any sum, one where no column
/// uses a carry (BaseAdd only), one that uses a carry but never into a column summing to 9
/// (UseCarry1), and one where a carry cascades through a 9 (UseSum9); `EXAMPLES_PER_KIND` of
/// each (fewer when a kind has fewer in the batch), from the `example`-th sum of the kind on,
/// preferring sums not already shown for an earlier kind, with their attention in `layer`.
#[derive(Clone, Debug, Serialize)]
pub struct CategoryExamples {
    pub categories: Vec<String>,
    /// How many sums of each kind the batch holds.
    pub counts: Vec<usize>,
    /// The batch rows shown for each kind [kind][example].
    pub rows: Vec<Vec<usize>>,
    /// [kind][example][position]
    pub tokens: Vec<Vec<Vec<i64>>>,
    /// [kind, example, head, query, key]
    pub pattern: LabeledTensor,
    /// The pattern averaged over the whole batch [head, query, key].
    pub mean_pattern: LabeledTensor,
}

pub fn category_examples(run: &CachedRun, layer: usize, num_digits: usize, example: usize) -> Result<CategoryExamples> {
    let cat = categories(&run.tokens, num_digits)?;
    let b = run.tokens.batch;
    let kinds: [(&str, &dyn Fn(usize) -> bool); 4] = [
        ("random", &|_| true),
        ("BaseAdd only", &|e| cat.base_add_only[e]),
        ("UseCarry1, no UseSum9", &|e| cat.use_carry1_only[e]),
        ("UseSum9", &|e| cat.use_sum9[e]),
    ];
    let of: Vec<(&str, Vec<usize>)> =
        kinds.iter().map(|(name, keep)| (*name, (0..b).filter(|&e| keep(e)).collect::<Vec<_>>())).collect();
    let of: Vec<(&str, Vec<usize>)> = of.into_iter().filter(|(_, rows)| !rows.is_empty()).collect();
    // As many of each kind as the scarcest kind has: the pattern tensor is rectangular.
    let per = of.iter().map(|(_, rows)| rows.len()).min().unwrap_or(0).min(EXAMPLES_PER_KIND);
    let (mut names, mut counts, mut rows) = (vec![], vec![], Vec::<Vec<usize>>::new());
    for (name, all) in &of {
        let shown: Vec<usize> = rows.iter().flatten().copied().collect();
        // Sums not shown for an earlier kind first, then the others, from the `example`-th on.
        let (fresh, seen): (Vec<usize>, Vec<usize>) = all.iter().partition(|r| !shown.contains(r));
        let pool: Vec<usize> = fresh.into_iter().chain(seen).collect();
        let start = example.min(pool.len() - per);
        names.push(name.to_string());
        counts.push(all.len());
        rows.push(pool[start..start + per].to_vec());
    }
    let pattern: Tensor<4> = run.act(&format!("blocks.{layer}.attn.hook_pattern"))?;
    let [_, h, q, k] = pattern.dims();
    let heads: Vec<String> = (0..h).map(|i| format!("H{i}")).collect();
    let mean = to_vec(pattern.clone().mean_dim(0))?;
    let flat: Vec<usize> = rows.iter().flatten().copied().collect();
    let idx = Tensor::<1, Int>::from_data(
        TensorData::new(flat.iter().map(|&r| r as i32).collect(), [flat.len()]),
        &pattern.device(),
    );
    let values = to_vec(pattern.select(0, idx))?;
    let p = run.tokens.pos;
    let tokens = rows.iter().map(|kind| kind.iter().map(|&r| run.tokens.ids[r * p..(r + 1) * p].to_vec()).collect());
    Ok(CategoryExamples {
        pattern: LabeledTensor::new(
            vec![names.len(), per, h, q, k],
            values,
            &["kind", "example", "head", "query", "key"],
        )
        .label("kind", names.clone())
        .label("head", heads.clone()),
        categories: names,
        counts,
        tokens: tokens.collect(),
        rows,
        mean_pattern: LabeledTensor::new(vec![h, q, k], mean, &["head", "query", "key"]).label("head", heads),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_and_sum9s_follow_the_generator() {
        // 19999 + 00001 = 020000: a carry runs through four columns summing to 9.
        let t = Tokens::new(1, 18, vec![1, 9, 9, 9, 9, 10, 0, 0, 0, 0, 1, 11, 0, 2, 0, 0, 0, 0]).unwrap();
        let c = categories(&t, 5).unwrap();
        assert_eq!(c.base_adds[0], vec![1, 9, 9, 9, 10]);
        assert_eq!(c.make_carry1s[0], vec![0, 1, 1, 1, 1]);
        assert_eq!(c.use_carry1s[0], vec![1, 1, 1, 1, 0]);
        assert_eq!(c.use_sum9s[0], vec![0, 1, 1, 1, 0]);
        assert_eq!((c.base_add_only[0], c.use_carry1_only[0], c.use_sum9[0]), (false, false, true));
    }
}
