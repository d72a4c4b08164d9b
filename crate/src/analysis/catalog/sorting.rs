//! First needed by the sorting notebook: circuits over token and position embeddings
//! together, per-position predictions with target logits, and attribution to the target.

use serde_json::Value;

use super::Needs::{Targets, Tokens, Weights};
use super::{Analysis, Ctx, Opt, json, row};
use crate::analysis::{circuits, metrics};
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    row(
        "full_ov_pos",
        Weights,
        "W_E_pos·W_OV·W_U over token then position embeddings [head, d_vocab+n_ctx, d_vocab_out]",
        &[Opt::Layer],
        full_ov_pos,
    ),
    row(
        "full_qk_pos",
        Weights,
        "W_E_pos·W_QK·W_E_posᵀ [head, d_vocab+n_ctx, d_vocab+n_ctx]",
        &[Opt::Layer],
        full_qk_pos,
    ),
    row(
        "predictions",
        Targets,
        "per position: predicted token, target, target logit, centred logit, log-prob",
        &[],
        predictions,
    ),
    row(
        "next_token_predictions",
        Tokens,
        "predictions with the next token as every position's target (the sorting notebook's heatmaps over all positions)",
        &[],
        next_token_predictions,
    ),
    row(
        "logit_attrs",
        Targets,
        "direct logit attribution of the full decomposition to the target token [component, batch, pos]",
        &[],
        logit_attrs,
    ),
    row(
        "sorting_example",
        Targets,
        "the page's per-edit figures in one pass: predictions, logit_attrs and attention_pattern together",
        &[Opt::Layer],
        sorting_example,
    ),
];

fn full_ov_pos(c: &Ctx) -> Result<Value> {
    json(c.names.read(circuits::full_ov_pos(c.model, c.opts().layer)?, &["head", "input", "output_token"])?)
}

fn full_qk_pos(c: &Ctx) -> Result<Value> {
    json(c.names.read(circuits::full_qk_pos(c.model, c.opts().layer)?, &["head", "query_input", "key_input"])?)
}

fn predictions(c: &Ctx) -> Result<Value> {
    json(metrics::target_token_stats(c.run()?.logits.clone(), c.targets()?)?)
}

fn next_token_predictions(c: &Ctx) -> Result<Value> {
    let targets = metrics::next_token_targets(c.tokens()?, c.model.cfg.d_vocab_out);
    json(metrics::target_token_stats(c.run()?.logits.clone(), &targets)?)
}

fn logit_attrs(c: &Ctx) -> Result<Value> {
    json(c.run()?.target_logit_attrs(c.targets()?)?)
}

fn sorting_example(c: &Ctx) -> Result<Value> {
    let mut e = c.run()?.sorting_example(c.targets()?, c.opts().layer)?;
    e.attention = c.names.annotate(e.attention);
    json(e)
}
