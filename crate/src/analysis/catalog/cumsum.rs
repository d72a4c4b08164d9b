//! First needed by the cumsum notebook: the spectra of W_E, W_U and W_E·W_OV, the full OV
//! circuit, DLA and neurons grouped by label, uniform attention, neuron and bias logits.

use burn::tensor::Tensor;
use serde::Serialize;
use serde_json::Value;

use super::Needs::{Targets, Tokens, Weights};
use super::{Analysis, Ctx, Opt, annotate_spectrum, json, row};
use crate::analysis::ablation::Target;
use crate::analysis::labeled::LabeledTensor;
use crate::analysis::metrics::{LossAccuracy, loss_accuracy};
use crate::analysis::run::Positions;
use crate::analysis::stacks::Mode;
use crate::analysis::{circuits, grouping, neurons, spectra};
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    row(
        "svd_W_E",
        Weights,
        "singular values of W_E, with U, Vh and W_E projected on the top k directions",
        &[Opt::K],
        svd_w_e,
    ),
    row(
        "svd_W_U",
        Weights,
        "singular values of W_U, with U, Vh and W_Uᵀ projected on the top k directions",
        &[Opt::K],
        svd_w_u,
    ),
    row(
        "svd_W_E_OV",
        Weights,
        "singular values of W_E·W_OV per head, with U, Vh and the projection on the top k",
        &[Opt::Layer, Opt::K],
        svd_w_e_ov,
    ),
    row(
        "unembed_directions",
        Weights,
        "W_U's top k left singular vectors and W_U, W_E·W_OV, W_out projected on them",
        &[Opt::Layer, Opt::K],
        unembed_directions,
    ),
    row("full_ov", Weights, "W_E·W_OV·W_U [head, d_vocab, d_vocab_out]", &[Opt::Layer], full_ov),
    row(
        "neuron_logits",
        Weights,
        "W_out·W_U: each neuron's direct logit effect [neuron, d_vocab_out]",
        &[Opt::Layer],
        neuron_logits,
    ),
    row("bias_logits", Weights, "b_O, b_in·W_out and b_out projected on W_U [bias, d_vocab_out]", &[], bias_logits),
    row(
        "dla_by_label",
        Targets,
        "dla grouped by label: mean and std [component, label, d_vocab_out]",
        &[],
        dla_by_label,
    ),
    row(
        "neurons_by_label",
        Targets,
        "neuron activations grouped by label: mean and std [label, neuron]",
        &[Opt::Layer],
        neurons_by_label,
    ),
    row(
        "attention_entropy",
        Tokens,
        "how uniform each head's attention is: mean entropy / ln(query+1) per query [head, query] (1 = uniform)",
        &[Opt::Layer],
        attention_entropy,
    ),
    row(
        "uniform_attention",
        Targets,
        "task loss and accuracy with and without uniform causal attention",
        &[Opt::Layer, Opt::Ablation],
        uniform_attention,
    ),
];

fn svd_w_e(c: &Ctx) -> Result<Value> {
    json(annotate_spectrum(spectra::svd_w_e(c.model, c.opts().k)?, &c.names))
}

fn svd_w_u(c: &Ctx) -> Result<Value> {
    json(annotate_spectrum(spectra::svd_w_u(c.model, c.opts().k)?, &c.names))
}

fn svd_w_e_ov(c: &Ctx) -> Result<Value> {
    json(annotate_spectrum(spectra::svd_embed_ov(c.model, c.opts().layer, c.opts().k)?, &c.names))
}

fn unembed_directions(c: &Ctx) -> Result<Value> {
    let mut u = spectra::unembed_directions(c.model, c.opts().layer, c.opts().k)?;
    u.w_u = c.names.annotate(u.w_u);
    u.embed_ov = c.names.annotate(u.embed_ov);
    json(u)
}

fn full_ov(c: &Ctx) -> Result<Value> {
    json(c.names.read(circuits::full_ov(c.model, c.opts().layer)?, &["head", "token", "output_token"])?)
}

fn neuron_logits(c: &Ctx) -> Result<Value> {
    json(c.names.read(circuits::neuron_logits(c.model, c.opts().layer)?, &["neuron", "output_token"])?)
}

fn bias_logits(c: &Ctx) -> Result<Value> {
    let (t, rows) = circuits::bias_logits(c.model)?;
    json(c.names.read(t, &["bias", "output_token"])?.label("bias", rows))
}

#[derive(Serialize)]
struct Grouped {
    mean: LabeledTensor,
    std: LabeledTensor,
    counts: Vec<usize>,
}

fn dla_by_label(c: &Ctx) -> Result<Value> {
    let run = c.run()?;
    let s = run.dla_vocab(run.decompose_resid(None, false, Mode::All, true, &Positions::All)?)?;
    let comps = s.labels.clone();
    let [n, b, p, v] = s.t.dims();
    let g = grouping::group_by_label(s.t.reshape([n, b * p, v]), c.labels()?, c.model.cfg.d_vocab_out)?;
    let read = |x: Tensor<3>| -> Result<LabeledTensor> {
        Ok(c.names.read(x, &["component", "label", "output_token"])?.label("component", comps.clone()))
    };
    json(Grouped { mean: read(g.mean)?, std: read(g.std)?, counts: g.counts })
}

fn neurons_by_label(c: &Ctx) -> Result<Value> {
    let g = c.run()?.neurons_by_label(c.opts().layer, c.labels()?, c.model.cfg.d_vocab_out)?;
    let (mean, std, counts) = neurons::read_groups(g, "neuron", &c.names.vocab_out)?;
    json(Grouped { mean, std, counts })
}

#[derive(Serialize)]
struct Uniform {
    baseline: LossAccuracy,
    uniform: LossAccuracy,
}

fn attention_entropy(c: &Ctx) -> Result<Value> {
    json(c.names.annotate(c.run()?.attention_entropy(c.opts().layer)?))
}

fn uniform_attention(c: &Ctx) -> Result<Value> {
    let (run, t) = (c.run()?, c.targets()?);
    let iv = run.ablation(&Target::UniformAttention { layer: c.opts().layer, heads: None }, c.opts().ablation)?;
    json(Uniform { baseline: loss_accuracy(run.logits.clone(), t)?, uniform: run.measure(&[iv], t)? })
}
