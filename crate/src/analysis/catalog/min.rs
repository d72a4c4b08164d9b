//! First needed by the min_of_two notebook: the full QK circuit, how often the full OV
//! circuit's row maximum is on its diagonal, and attention over every pair (a, b).

use serde_json::Value;

use super::Needs::Weights;
use super::{Analysis, Ctx, Opt, json, row};
use crate::analysis::{attention, circuits, ov_diag};
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    row(
        "full_qk",
        Weights,
        "W_E·W_QK·W_Eᵀ [head, d_vocab, d_vocab] (no scale, bias or position)",
        &[Opt::Layer],
        full_qk,
    ),
    row(
        "ov_diag_top1",
        Weights,
        "fraction of full-OV rows whose argmax is the diagonal, per head",
        &[Opt::Layer],
        ov_diag_top1,
    ),
    row(
        "min_attention_grid",
        Weights,
        "min: attention from '=' to a and to b over every (a, b) [head, key, a, b]",
        &[Opt::Layer],
        min_attention_grid,
    ),
];

fn full_qk(c: &Ctx) -> Result<Value> {
    json(c.names.read(circuits::full_qk(c.model, c.opts().layer)?, &["head", "query_token", "key_token"])?)
}

fn ov_diag_top1(c: &Ctx) -> Result<Value> {
    let mut r = ov_diag::ov_diag_top1(circuits::full_ov(c.model, c.opts().layer)?)?;
    r.fraction = c.names.annotate(r.fraction);
    json(r)
}

fn min_attention_grid(c: &Ctx) -> Result<Value> {
    // The vocabulary is the numbers then `=`.
    let v = c.model.cfg.d_vocab;
    json(attention::pair_grid_attention(c.model, v - 1, v as i64 - 1, c.opts().layer)?)
}
