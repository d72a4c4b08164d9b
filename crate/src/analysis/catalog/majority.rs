//! First needed by the majority_element notebook: running value counts, the OV circuit into
//! the MLP, neuron activations and sums, and neuron ablation.

use serde_json::Value;

use super::Needs::{Targets, Tokens, Weights};
use super::{Analysis, Ctx, Opt, json, row};
use crate::analysis::ablation::Target;
use crate::analysis::{circuits, counts};
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    row(
        "running_counts",
        Tokens,
        "how often each value occurred before each position [batch, pos, value]",
        &[],
        running_counts,
    ),
    row("ov_to_neurons", Weights, "W_E·W_OV·W_in [head, d_vocab, d_mlp]", &[Opt::Layer], ov_to_neurons),
    row(
        "neuron_acts",
        Tokens,
        "one example's neuron activations [pos, neuron] (--example)",
        &[Opt::Layer, Opt::Example],
        neuron_acts,
    ),
    row(
        "neuron_position_means",
        Tokens,
        "neuron activations averaged over the batch [pos, neuron]",
        &[Opt::Layer],
        neuron_position_means,
    ),
    row(
        "top_neurons",
        Tokens,
        "the --top neurons with the highest mean activation",
        &[Opt::Layer, Opt::Top],
        top_neurons,
    ),
    row(
        "neuron_sum",
        Tokens,
        "Σ of --neurons' activations per position [batch, pos]",
        &[Opt::Layer, Opt::Neurons],
        neuron_sum,
    ),
    row(
        "ablate_neurons",
        Targets,
        "loss and accuracy with --neurons zero/mean ablated (--ablation)",
        &[Opt::Layer, Opt::Neurons, Opt::Ablation],
        ablate_neurons,
    ),
    row(
        "ablated_predictions",
        Tokens,
        "argmax predictions [batch, pos] without and with --neurons (or else --head) ablated",
        &[Opt::Layer, Opt::Neurons, Opt::Head, Opt::Ablation],
        ablated_predictions,
    ),
    row(
        "neuron_ablation_scan",
        Targets,
        "each neuron ablated alone (--ablation): loss and accuracy [neuron], ranked by the loss increase",
        &[Opt::Layer, Opt::Ablation],
        neuron_ablation_scan,
    ),
];

fn running_counts(c: &Ctx) -> Result<Value> {
    json(counts::running_counts(c.tokens()?, c.model.cfg.d_vocab))
}

fn ov_to_neurons(c: &Ctx) -> Result<Value> {
    let l = c.opts().layer;
    json(c.names.read(circuits::ov_to_neurons(c.model, l, l)?, &["head", "token", "neuron"])?)
}

fn neuron_acts(c: &Ctx) -> Result<Value> {
    json(c.names.read(c.run()?.neuron_heatmap(c.opts().layer, c.opts().example)?, &["pos", "neuron"])?)
}

fn neuron_position_means(c: &Ctx) -> Result<Value> {
    json(c.names.read(c.run()?.neuron_position_means(c.opts().layer)?, &["pos", "neuron"])?)
}

fn top_neurons(c: &Ctx) -> Result<Value> {
    json(c.run()?.top_neurons(c.opts().layer, c.opts().top)?)
}

fn neuron_sum(c: &Ctx) -> Result<Value> {
    json(c.names.read(c.run()?.neuron_sum(c.opts().layer, c.neurons()?)?, &["batch", "pos"])?)
}

fn ablate_neurons(c: &Ctx) -> Result<Value> {
    let target = Target::Neurons { layer: c.opts().layer, neurons: c.neurons()?.to_vec() };
    json(c.run()?.ablate(&target, c.opts().ablation, c.targets()?)?)
}

fn neuron_ablation_scan(c: &Ctx) -> Result<Value> {
    json(c.run()?.neuron_ablation_scan(c.opts().layer, c.opts().ablation, c.targets()?)?)
}

fn ablated_predictions(c: &Ctx) -> Result<Value> {
    json(c.run()?.ablated_predictions(&c.ablation_target(), c.opts().ablation)?)
}
