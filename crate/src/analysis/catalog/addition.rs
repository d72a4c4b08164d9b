//! First needed by the five_digit_addition notebook: per-digit and per-category losses, the
//! logit lens, per-head attribution, head and component ablations, activation patching.

use serde::Serialize;
use serde_json::Value;

use super::Needs::{Targets, Tokens};
use super::{Analysis, Ctx, Opt, filled, json, nan_where_unscored, rolled, row, scored};
use crate::analysis::ablation::{self, Target};
use crate::analysis::labeled::{self, LabeledTensor};
use crate::analysis::metrics::{LossAccuracy, loss_accuracy};
use crate::analysis::run::Positions;
use crate::error::Result;

pub const ROWS: &[Analysis] = &[
    scored(row(
        "addition_losses",
        Tokens,
        "addition: per-token and BaseAdd/UseCarry1/UseSum9 per-digit losses",
        &[Opt::NumDigits],
        addition_losses,
    )),
    scored(row(
        "addition_examples",
        Tokens,
        "addition: a sum of each kind (random, BaseAdd only, UseCarry1, UseSum9) with its attention [example, head, query, key]",
        &[Opt::Layer, Opt::Example, Opt::NumDigits],
        addition_examples,
    )),
    scored(row(
        "addition_digit_ablation",
        Targets,
        "addition: loss, accuracy and prediction per answer digit with each attention layer, head and MLP ablated [ablated, digit]",
        &[Opt::Ablation, Opt::Example, Opt::NumDigits],
        addition_digit_ablation,
    )),
    scored(row(
        "addition_logit_lens",
        Targets,
        "addition: the logit lens per answer digit: loss, accuracy and right-digit logit at each point [point, digit]",
        &[Opt::Example, Opt::NumDigits],
        addition_logit_lens,
    )),
    row(
        "logit_lens",
        Tokens,
        "accumulated residual through the final LN and W_U [point, batch, pos, d_vocab_out]",
        &[Opt::Positions],
        logit_lens,
    ),
    row(
        "logit_lens_attrs",
        Targets,
        "accumulated residual attributed to the target token [point, batch, pos]",
        &[],
        logit_lens_attrs,
    ),
    scored(row(
        "head_dla",
        Targets,
        "per head: mean direct logit attribution to the target over the scored positions (head_attribution without its ablations)",
        &[],
        head_dla,
    )),
    row(
        "head_attribution",
        Targets,
        "per head: mean DLA to the target, and loss/accuracy under zero and mean ablation",
        &[],
        head_attribution,
    ),
    row(
        "ablate_head",
        Targets,
        "loss and accuracy with --head zero/mean ablated (--ablation)",
        &[Opt::Layer, Opt::Head, Opt::Ablation],
        ablate_head,
    ),
    row(
        "component_ablation",
        Targets,
        "loss and accuracy with each attn_out / mlp_out ablated in turn",
        &[Opt::Ablation],
        component_ablation,
    ),
    row(
        "head_ablation",
        Targets,
        "loss and accuracy with each head ablated in turn [layer, head]",
        &[Opt::Ablation],
        head_ablation,
    ),
    row(
        "patching",
        Targets,
        "activation patching clean → corrupted (--patch kind), loss and accuracy grids",
        &[Opt::Patch, Opt::Corrupted],
        patching,
    ),
];

fn addition_losses(c: &Ctx) -> Result<Value> {
    json(crate::analysis::addition::addition_losses(c.run()?.logits.clone(), c.tokens()?, c.opts().num_digits)?)
}

fn addition_examples(c: &Ctx) -> Result<Value> {
    let o = c.opts();
    json(crate::analysis::addition::category_examples(c.run()?, o.layer, o.num_digits, o.example)?)
}

fn addition_digit_ablation(c: &Ctx) -> Result<Value> {
    let o = c.opts();
    let table = crate::analysis::addition::digit_ablation(c.run()?, c.targets()?, o.ablation, o.num_digits, o.example)?;
    json(DigitAblation { kind: o.ablation, table })
}

#[derive(Serialize)]
struct DigitAblation {
    kind: ablation::Ablation,
    #[serde(flatten)]
    table: crate::analysis::addition::DigitTable,
}

fn addition_logit_lens(c: &Ctx) -> Result<Value> {
    let o = c.opts();
    json(crate::analysis::addition::logit_lens_digits(c.run()?, c.targets()?, o.num_digits, o.example)?)
}

fn logit_lens(c: &Ctx) -> Result<Value> {
    json(c.names.stack(c.run()?.logit_lens(c.model.cfg.has_mlp(), &c.positions()?)?, "output_token")?)
}

fn logit_lens_attrs(c: &Ctx) -> Result<Value> {
    let run = c.run()?;
    let (fill, scored) = filled(c.targets()?);
    let s = run.accumulated_resid(None, c.model.cfg.has_mlp(), false, &Positions::All)?;
    let comps = s.labels.clone();
    let a = c.names.read(run.logit_attrs(s, &fill, None)?, &["point", "batch", "pos"])?.label("point", comps);
    json(nan_where_unscored(a, &scored))
}

#[derive(Serialize)]
struct HeadAttribution {
    /// Mean over scored positions of each head's direct logit attribution to the target.
    dla: LabeledTensor,
    zero_ablation: ablation::HeadScan,
    mean_ablation: ablation::HeadScan,
}

/// Each head's direct logit attribution to the target, [layer, head], averaged over the
/// scored positions.
fn mean_head_dla(c: &Ctx) -> Result<LabeledTensor> {
    let (run, t) = (c.run()?, c.targets()?);
    let (fill, scored) = filled(t);
    let s = run.stack_head_results(None, false, &Positions::All)?;
    let a = labeled::to_vec(run.logit_attrs(s, &fill, None)?)?; // [L·h, b·p]
    let (n_l, n_h) = (c.model.cfg.n_layers, c.model.cfg.n_heads);
    let n_scored = scored.iter().filter(|&&s| s).count().max(1);
    let per = scored.len();
    let dla: Vec<f32> = (0..n_l * n_h)
        .map(|i| {
            a[i * per..(i + 1) * per].iter().zip(&scored).filter(|(_, s)| **s).map(|(v, _)| *v).sum::<f32>()
                / n_scored as f32
        })
        .collect();
    Ok(c.names.annotate(LabeledTensor::new(vec![n_l, n_h], dla, &["layer", "head"])))
}

#[derive(Serialize)]
struct HeadDla {
    dla: LabeledTensor,
}

fn head_dla(c: &Ctx) -> Result<Value> {
    json(HeadDla { dla: mean_head_dla(c)? })
}

fn head_attribution(c: &Ctx) -> Result<Value> {
    let (run, t) = (c.run()?, c.targets()?);
    json(HeadAttribution {
        dla: mean_head_dla(c)?,
        zero_ablation: run.head_ablation_scan(ablation::Ablation::Zero, t)?,
        mean_ablation: run.head_ablation_scan(ablation::Ablation::Mean, t)?,
    })
}

fn ablate_head(c: &Ctx) -> Result<Value> {
    let o = c.opts();
    json(c.run()?.ablate(&Target::Head { layer: o.layer, head: o.head }, o.ablation, c.targets()?)?)
}

#[derive(Serialize)]
struct ComponentAblation {
    baseline: LossAccuracy,
    kind: ablation::Ablation,
    components: Vec<String>,
    results: Vec<LossAccuracy>,
}

fn component_ablation(c: &Ctx) -> Result<Value> {
    let (run, t, kind) = (c.run()?, c.targets()?, c.opts().ablation);
    let mut components = vec![];
    for layer in 0..c.model.cfg.n_layers {
        components.push(format!("blocks.{layer}.hook_attn_out"));
        if c.model.cfg.has_mlp() {
            components.push(format!("blocks.{layer}.hook_mlp_out"));
        }
    }
    let results = components
        .iter()
        .map(|hook| Ok(run.ablate(&Target::Component { hook: hook.clone() }, kind, t)?.ablated))
        .collect::<Result<Vec<_>>>()?;
    json(ComponentAblation { baseline: loss_accuracy(run.logits.clone(), t)?, kind, components, results })
}

fn head_ablation(c: &Ctx) -> Result<Value> {
    json(c.run()?.head_ablation_scan(c.opts().ablation, c.targets()?)?)
}

fn patching(c: &Ctx) -> Result<Value> {
    let run = c.run()?;
    let corrupted = c.inputs.corrupted.clone().unwrap_or_else(|| rolled(&run.tokens));
    json(run.activation_patching(&corrupted, c.opts().patch, c.targets()?)?)
}
