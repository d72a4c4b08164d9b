//! TransformerLens' own views, used by every notebook: factored OV/QK circuits, the residual
//! stream decompositions, direct logit attribution, probabilities, attention and the loss.

use burn::tensor::activation::softmax;
use serde::Serialize;
use serde_json::Value;

use super::Needs::{Targets, Tokens, Weights};
use super::{Analysis, Ctx, Opt, check_size, factored, json, row, svd};
use crate::analysis::circuits;
use crate::analysis::labeled::LabeledTensor;
use crate::analysis::metrics;
use crate::analysis::run::Positions;
use crate::analysis::stacks::{Mode, Stack};
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    row("ov", Weights, "W_V·W_O per head [head, d_model, d_model], with its norm and eigenvalues", &[Opt::Layer], ov),
    row("qk", Weights, "W_Q·W_Kᵀ per head [head, d_model, d_model], with its norm and eigenvalues", &[Opt::Layer], qk),
    row("ov_svd", Weights, "SVD of each head's OV (TL's FactoredMatrix): S [head, sv], U, V", &[Opt::Layer], ov_svd),
    row("qk_svd", Weights, "SVD of each head's QK (TL's FactoredMatrix): S [head, sv], U, V", &[Opt::Layer], qk_svd),
    row(
        "decompose_resid",
        Tokens,
        "final residual stream by component [component, batch, pos, d_model]",
        &[Opt::Positions],
        decompose_resid,
    ),
    row(
        "decompose_resid_ln",
        Tokens,
        "decompose_resid with the final LayerNorm's cached scale applied (apply_ln_to_stack)",
        &[Opt::Positions],
        decompose_resid_ln,
    ),
    row(
        "accumulated_resid",
        Tokens,
        "residual stream before each layer (and mid-layer) [point, batch, pos, d_model]",
        &[Opt::Positions],
        accumulated_resid,
    ),
    row(
        "stack_head_results",
        Tokens,
        "each head's output plus the remainder [component, batch, pos, d_model]",
        &[Opt::Positions],
        stack_head_results,
    ),
    row(
        "stack_neuron_results",
        Tokens,
        "each neuron's output plus the remainder (use --positions on big models)",
        &[Opt::Positions, Opt::Neurons],
        stack_neuron_results,
    ),
    row(
        "full_resid_decomposition",
        Tokens,
        "heads, MLP outputs, embed, pos_embed and bias [component, batch, pos, d_model]",
        &[Opt::Positions],
        full_resid_decomposition,
    ),
    row(
        "dla",
        Tokens,
        "each component's direct effect on every logit [component, batch, pos, d_vocab_out]",
        &[Opt::Positions],
        dla,
    ),
    row(
        "dla_centred",
        Tokens,
        "dla minus its mean over the logits, the majority notebook's centring [component, batch, pos, d_vocab_out]",
        &[Opt::Positions],
        dla_centred,
    ),
    row("probs", Tokens, "softmax of the logits [batch, pos, d_vocab_out]", &[], probs),
    row(
        "ablated_logits",
        Tokens,
        "logits without and with --neurons (else --head) ablated, and the change [batch, pos, d_vocab_out]",
        &[Opt::Layer, Opt::Neurons, Opt::Head, Opt::Ablation],
        ablated_logits,
    ),
    row("attention_pattern", Tokens, "attention patterns [batch, head, query, key]", &[Opt::Layer], attention_pattern),
    row(
        "attention_from",
        Tokens,
        "attention from --query to every key: mean over the batch [head, key] and per example",
        &[Opt::Layer, Opt::Query],
        attention_from,
    ),
    row("loss", Targets, "loss, accuracy and the mean/median/min probability on the correct label", &[], loss),
];

fn ov(c: &Ctx) -> Result<Value> {
    factored(c, circuits::ov(c.model, c.opts().layer)?)
}

fn qk(c: &Ctx) -> Result<Value> {
    factored(c, circuits::qk(c.model, c.opts().layer)?)
}

fn ov_svd(c: &Ctx) -> Result<Value> {
    svd(c, circuits::ov(c.model, c.opts().layer)?)
}

fn qk_svd(c: &Ctx) -> Result<Value> {
    svd(c, circuits::qk(c.model, c.opts().layer)?)
}

fn decompose_resid(c: &Ctx) -> Result<Value> {
    let s = c.run()?.decompose_resid(None, false, Mode::All, true, &c.positions()?)?;
    json(c.names.stack(s, "d_model")?)
}

fn decompose_resid_ln(c: &Ctx) -> Result<Value> {
    let run = c.run()?;
    let s = run.decompose_resid(None, false, Mode::All, true, &c.positions()?)?;
    json(c.names.stack(run.apply_ln_to_stack(s, None, false, false)?, "d_model")?)
}

fn accumulated_resid(c: &Ctx) -> Result<Value> {
    let s = c.run()?.accumulated_resid(None, c.model.cfg.has_mlp(), false, &c.positions()?)?;
    json(c.names.stack(s, "d_model")?)
}

fn stack_head_results(c: &Ctx) -> Result<Value> {
    json(c.names.stack(c.run()?.stack_head_results(None, true, &c.positions()?)?, "d_model")?)
}

fn stack_neuron_results(c: &Ctx) -> Result<Value> {
    let (o, m, toks) = (c.opts(), &c.model.cfg, c.tokens()?);
    let pos = c.positions()?;
    let subset = (!o.neurons.is_empty()).then_some(o.neurons.as_slice());
    // Checked before computing: this stack is the one that can exhaust memory.
    let n = subset.map(|s| s.len()).unwrap_or(m.d_mlp.unwrap_or(0)) * m.n_layers;
    check_size(n * toks.batch * pos.indices(toks.pos).len() * m.d_model)?;
    json(c.names.stack(c.run()?.stack_neuron_results(None, subset, true, &pos, None)?, "d_model")?)
}

fn full_resid_decomposition(c: &Ctx) -> Result<Value> {
    json(c.names.stack(c.run()?.full_resid_decomposition(None, false, false, &c.positions()?)?, "d_model")?)
}

/// Each component's direct effect on every logit [component, batch, pos, d_vocab_out].
fn dla_stack(c: &Ctx) -> Result<Stack> {
    let run = c.run()?;
    run.dla_vocab(run.decompose_resid(None, false, Mode::All, true, &c.positions()?)?)
}

fn dla(c: &Ctx) -> Result<Value> {
    json(c.names.stack(dla_stack(c)?, "output_token")?)
}

fn dla_centred(c: &Ctx) -> Result<Value> {
    let s = dla_stack(c)?;
    let mean = s.t.clone().mean_dim(3);
    json(c.names.stack(Stack { t: s.t - mean, ..s }, "output_token")?)
}

fn probs(c: &Ctx) -> Result<Value> {
    json(c.names.read(softmax(c.run()?.logits.clone(), 2), &["batch", "pos", "output_token"])?)
}

fn attention_pattern(c: &Ctx) -> Result<Value> {
    json(c.names.read(c.run()?.pattern(c.opts().layer)?, &["batch", "head", "query", "key"])?)
}

#[derive(Serialize)]
struct AttentionFrom {
    query: usize,
    #[serde(flatten)]
    mean: LabeledTensor,
    per_example: LabeledTensor,
}

fn attention_from(c: &Ctx) -> Result<Value> {
    let p = c.tokens()?.pos;
    let q = Positions::from_signed(&[c.opts().query], p)?.indices(p)[0];
    let a = c.run()?.attention_from(c.opts().layer, q)?;
    json(AttentionFrom {
        query: q,
        mean: c.names.read(a.clone().mean_dim(0).squeeze_dim::<2>(0), &["head", "key"])?,
        per_example: c.names.read(a, &["batch", "head", "key"])?,
    })
}

fn loss(c: &Ctx) -> Result<Value> {
    json(metrics::correct_prob(c.run()?.logits.clone(), c.targets()?)?)
}

fn ablated_logits(c: &Ctx) -> Result<Value> {
    json(c.run()?.ablated_logits(&c.ablation_target(), c.opts().ablation)?)
}
