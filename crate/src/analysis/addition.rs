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

use super::labeled::to_vec;
use crate::error::{Error, Result};
use crate::model::Tokens;

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
        for i in 0..nd {
            let col = nd - 1 - i;
            let base_add = row[nd - 1 - i] + row[2 * nd - i];
            c.base_adds[e][col] = base_add;
            let sum9 = (base_add == 9) as i64;
            c.sum9s[e][col] = sum9;
            if i > 0 {
                c.use_carry1s[e][col] = c.make_carry1s[e][col + 1];
            }
            let use_carry = c.use_carry1s[e][col];
            c.use_sum9s[e][col] = sum9 & use_carry;
            c.make_carry1s[e][col] = (base_add + use_carry >= 10) as i64;
        }
        let any = |v: &[i64]| v.iter().any(|&x| x != 0);
        c.base_add_only.push(!any(&c.use_carry1s[e]));
        c.use_carry1_only.push(any(&c.use_carry1s[e]) && !any(&c.use_sum9s[e]));
        c.use_sum9.push(any(&c.use_sum9s[e]));
    }
    Ok(c)
}

/// One step's values of every series the notebook plots. Per-digit values are 0 when a digit
/// has no case (the notebook's first-step value); whole-batch means over no case are NaN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdditionLosses {
    /// `loss_fn(pred_log_probs)`: per answer token, "tok 0" (the carry digit) … "tok 5" (units).
    pub per_token: Vec<f32>,
    pub ba_alldigits: f32,
    pub ba_perdigit: Vec<f32>,
    pub uc1_anydigits: f32,
    pub uc1_perdigit: Vec<f32>,
    pub us9_onedigit: f32,
    pub us9_twodigits: f32,
    pub us9_perdigit: Vec<f32>,
    pub ba_perdigit_cases: Vec<usize>,
    pub uc1_perdigit_cases: Vec<usize>,
    pub us9_perdigit_cases: Vec<usize>,
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
    let nd = num_digits;
    let na = nd + 1;
    let b = tokens.batch;
    let cat = categories(tokens, nd)?;
    let lp: Vec<f64> = to_vec(pred_log_probs(logits, tokens, nd)?)?.iter().map(|&x| x as f64).collect();
    let at = |e: usize, j: usize| lp[e * na + j]; // j indexes the na answer tokens
    let mean_rows = |rows: &[usize]| -> f32 {
        if rows.is_empty() {
            return f32::NAN;
        }
        let s: f64 = rows.iter().flat_map(|&e| (0..na).map(move |j| at(e, j))).sum();
        (-s / (rows.len() * na) as f64) as f32
    };
    // Σ over examples where `keep` holds of the loss at answer token `j`, / count (0 if none).
    let digit = |j: usize, keep: &dyn Fn(usize) -> bool| -> (f32, usize) {
        let rows: Vec<usize> = (0..b).filter(|&e| keep(e)).collect();
        if rows.is_empty() {
            return (0.0, 0);
        }
        let s: f64 = rows.iter().map(|&e| at(e, j)).sum();
        ((-s / rows.len() as f64) as f32, rows.len())
    };
    let per_token = (0..na).map(|j| (-(0..b).map(|e| at(e, j)).sum::<f64>() / b as f64) as f32).collect();

    // BaseAdd over all digits: the last nd tokens of examples with no carry anywhere.
    let ba_rows: Vec<usize> = (0..b).filter(|&e| cat.base_add_only[e]).collect();
    let ba_alldigits = if ba_rows.is_empty() {
        0.0
    } else {
        let s: f64 = ba_rows.iter().flat_map(|&e| (1..na).map(move |j| at(e, j))).sum();
        (-s / ba_rows.len() as f64 / nd as f64) as f32
    };
    let col = |d: usize| nd - 1 - d; // digit_num → category column
    let tok = |d: usize| na - 1 - d; // digit_num → answer token
    let (mut ba_perdigit, mut ba_cases) = (vec![], vec![]);
    let (mut uc1_perdigit, mut uc1_cases) = (vec![], vec![]);
    let (mut us9_perdigit, mut us9_cases) = (vec![], vec![]);
    for d in 0..nd {
        let (v, n) = digit(tok(d), &|e| cat.use_carry1s[e][col(d)] == 0);
        ba_perdigit.push(v);
        ba_cases.push(n);
        let (v, n) = digit(tok(d), &|e| cat.use_carry1s[e][col(d)] == 1 && cat.sum9s[e][col(d)] == 0);
        uc1_perdigit.push(v);
        uc1_cases.push(n);
        let (v, n) = digit(tok(d), &|e| cat.use_carry1s[e][col(d)] == 1 && cat.sum9s[e][col(d)] == 1);
        us9_perdigit.push(v);
        us9_cases.push(n);
    }
    let n_sum9 = |e: usize| cat.use_sum9s[e].iter().sum::<i64>();
    let uc1_rows: Vec<usize> = (0..b).filter(|&e| cat.use_carry1_only[e]).collect();
    let us9_one: Vec<usize> = (0..b).filter(|&e| n_sum9(e) == 1).collect();
    let us9_two: Vec<usize> = (0..b).filter(|&e| n_sum9(e) == 2).collect();
    Ok(AdditionLosses {
        per_token,
        ba_alldigits,
        ba_perdigit,
        uc1_anydigits: mean_rows(&uc1_rows),
        uc1_perdigit,
        us9_onedigit: mean_rows(&us9_one),
        us9_twodigits: mean_rows(&us9_two),
        us9_perdigit,
        ba_perdigit_cases: ba_cases,
        uc1_perdigit_cases: uc1_cases,
        us9_perdigit_cases: us9_cases,
        categories: cat,
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
