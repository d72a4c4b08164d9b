//! Every analysis by name, for the CLI (`toylens analyze --what NAME`) and the browser: one
//! entry point that takes a model plus optional tokens/targets/labels and returns the result
//! as JSON. Each tensor in it is a `LabeledTensor` (`{"shape", "values", "axes", "labels"}`).

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ablation::{AblationResult, Target};
use super::labeled::{LabeledTensor, index_labels};
use super::metrics::{IGNORE, LossAccuracy, loss_accuracy};
use super::patching::PatchKind;
use super::run::{CachedRun, Positions};
use super::stacks::{Mode, Stack};
use super::{ablation, addition, attention, circuits, counts, grouping, metrics, neurons, ov_diag, spectra};
use crate::error::{Error, Result};
use crate::model::{HookedTransformer, Tokens};

/// Knobs some analyses take; every field has a default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Layer of the weight views and per-layer cache views.
    pub layer: usize,
    /// Head for `ablate_head`.
    pub head: usize,
    /// Neurons for `ablate_neurons`, `neuron_sum` and (optionally) `stack_neuron_results`.
    pub neurons: Vec<usize>,
    /// Singular directions projected onto (`svd_*`, `unembed_directions`).
    pub k: usize,
    /// How many neurons `top_neurons` lists.
    pub top: usize,
    /// Batch row for single-example views (`neuron_acts`).
    pub example: usize,
    /// Positions for the cache views (negative counts from the end); all when absent.
    pub positions: Option<Vec<i64>>,
    pub ablation: ablation::Ablation,
    pub patch: PatchKind,
    /// Query position for `attention_from` (negative counts from the end).
    pub query: i64,
    /// Digits per operand for `addition_losses`.
    pub num_digits: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            layer: 0,
            head: 0,
            neurons: vec![],
            k: 2,
            top: 10,
            example: 0,
            positions: None,
            ablation: ablation::Ablation::Zero,
            patch: PatchKind::ResidPre,
            query: -1,
            num_digits: 5,
        }
    }
}

/// What an analysis reads besides the weights.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub tokens: Option<Tokens>,
    /// One per (batch, pos), −1 where not scored.
    pub targets: Option<Vec<i64>>,
    /// Group per (batch, pos) for the by-label views (default: the targets).
    pub labels: Option<Vec<i64>>,
    /// Names of the input tokens (d_vocab) and output classes (d_vocab_out); indices otherwise.
    pub vocab: Option<Vec<String>>,
    pub vocab_out: Option<Vec<String>>,
    /// Tokens for activation patching (default: the batch rolled by one example).
    pub corrupted: Option<Tokens>,
    pub opts: Options,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Needs {
    /// Weights only.
    Weights,
    /// A token batch.
    Tokens,
    /// Tokens and targets.
    Targets,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Entry {
    pub name: &'static str,
    pub needs: Needs,
    pub about: &'static str,
}

const fn e(name: &'static str, needs: Needs, about: &'static str) -> Entry {
    Entry { name, needs, about }
}

use Needs::{Targets, Tokens as Toks, Weights};

pub const ENTRIES: &[Entry] = &[
    e("ov", Weights, "W_V·W_O per head [head, d_model, d_model], with its norm and eigenvalues"),
    e("qk", Weights, "W_Q·W_Kᵀ per head [head, d_model, d_model], with its norm and eigenvalues"),
    e("ov_svd", Weights, "SVD of each head's OV (TL's FactoredMatrix): S [head, sv], U, V"),
    e("qk_svd", Weights, "SVD of each head's QK (TL's FactoredMatrix): S [head, sv], U, V"),
    e("full_ov", Weights, "W_E·W_OV·W_U [head, d_vocab, d_vocab_out]"),
    e("full_qk", Weights, "W_E·W_QK·W_Eᵀ [head, d_vocab, d_vocab] (no scale, bias or position)"),
    e("full_ov_pos", Weights, "W_E_pos·W_OV·W_U over token then position embeddings [head, d_vocab+n_ctx, d_vocab_out]"),
    e("full_qk_pos", Weights, "W_E_pos·W_QK·W_E_posᵀ [head, d_vocab+n_ctx, d_vocab+n_ctx]"),
    e("ov_diag_top1", Weights, "fraction of full-OV rows whose argmax is the diagonal, per head"),
    e("ov_to_neurons", Weights, "W_E·W_OV·W_in [head, d_vocab, d_mlp]"),
    e("neuron_logits", Weights, "W_out·W_U: each neuron's direct logit effect [neuron, d_vocab_out]"),
    e("bias_logits", Weights, "b_O, b_in·W_out and b_out projected on W_U [bias, d_vocab_out]"),
    e("svd_W_E", Weights, "singular values of W_E, with U, Vh and W_E projected on the top k directions"),
    e("svd_W_U", Weights, "singular values of W_U, with U, Vh and W_Uᵀ projected on the top k directions"),
    e("svd_W_E_OV", Weights, "singular values of W_E·W_OV per head, with U, Vh and the projection on the top k"),
    e("unembed_directions", Weights, "W_U's top k left singular vectors and W_U, W_E·W_OV, W_out projected on them"),
    e("decompose_resid", Toks, "final residual stream by component [component, batch, pos, d_model]"),
    e("decompose_resid_ln", Toks, "decompose_resid with the final LayerNorm's cached scale applied (apply_ln_to_stack)"),
    e("accumulated_resid", Toks, "residual stream before each layer (and mid-layer) [point, batch, pos, d_model]"),
    e("stack_head_results", Toks, "each head's output plus the remainder [component, batch, pos, d_model]"),
    e("stack_neuron_results", Toks, "each neuron's output plus the remainder (use --positions on big models)"),
    e("full_resid_decomposition", Toks, "heads, MLP outputs, embed, pos_embed and bias [component, batch, pos, d_model]"),
    e("dla", Toks, "each component's direct effect on every logit [component, batch, pos, d_vocab_out]"),
    e("dla_by_label", Targets, "dla grouped by label: mean and std [component, label, d_vocab_out]"),
    e("logit_attrs", Targets, "direct logit attribution of the full decomposition to the target token [component, batch, pos]"),
    e("logit_lens", Toks, "accumulated residual through the final LN and W_U [point, batch, pos, d_vocab_out]"),
    e("logit_lens_attrs", Targets, "accumulated residual attributed to the target token [point, batch, pos]"),
    e("head_attribution", Targets, "per head: mean DLA to the target, and loss/accuracy under zero and mean ablation"),
    e("loss", Targets, "loss, accuracy and the mean/median/min probability on the correct label"),
    e("predictions", Targets, "per position: predicted token, target, target logit, centred logit, log-prob"),
    e("probs", Toks, "softmax of the logits [batch, pos, d_vocab_out]"),
    e("attention_pattern", Toks, "attention patterns [batch, head, query, key]"),
    e("attention_from", Toks, "attention from --query to every key: mean over the batch [head, key] and per example"),
    e("uniform_attention", Targets, "task loss and accuracy with and without uniform causal attention"),
    e("ablate_head", Targets, "loss and accuracy with --head zero/mean ablated (--ablation)"),
    e("ablate_neurons", Targets, "loss and accuracy with --neurons zero/mean ablated (--ablation)"),
    e("ablated_predictions", Toks, "argmax predictions [batch, pos] without and with --neurons (or else --head) ablated"),
    e("component_ablation", Targets, "loss and accuracy with each attn_out / mlp_out ablated in turn"),
    e("head_ablation", Targets, "loss and accuracy with each head ablated in turn [layer, head]"),
    e("patching", Targets, "activation patching clean → corrupted (--patch kind), loss and accuracy grids"),
    e("neuron_acts", Toks, "one example's neuron activations [pos, neuron] (--example)"),
    e("neuron_position_means", Toks, "neuron activations averaged over the batch [pos, neuron]"),
    e("neurons_by_label", Targets, "neuron activations grouped by label: mean and std [label, neuron]"),
    e("top_neurons", Toks, "the --top neurons with the highest mean activation"),
    e("neuron_sum", Toks, "Σ of --neurons' activations per position [batch, pos]"),
    e("addition_losses", Toks, "addition: per-token and BaseAdd/UseCarry1/UseSum9 per-digit losses"),
    e("running_counts", Toks, "how often each value occurred before each position [batch, pos, value]"),
    e("min_attention_grid", Weights, "min: attention from '=' to a and to b over every (a, b) [head, key, a, b]"),
];

pub fn find(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

/// Results larger than this many values are refused (their JSON would run to gigabytes).
pub const MAX_VALUES: usize = 1 << 25;

fn check_size(n: usize) -> Result<()> {
    if n > MAX_VALUES {
        return Err(Error::Config(format!(
            "the result would hold {n} values (limit {MAX_VALUES}); narrow it with --limit, --positions or --neurons"
        )));
    }
    Ok(())
}

fn json<T: Serialize>(x: T) -> Result<Value> {
    serde_json::to_value(x).map_err(|e| Error::Io(format!("serialising a result: {e}")))
}

/// Tick labels for the axes we know by name.
struct Names {
    vocab: Vec<String>,
    vocab_out: Vec<String>,
    n_heads: usize,
    n_ctx: usize,
}

impl Names {
    fn new(m: &HookedTransformer, inp: &Inputs) -> Self {
        Self {
            vocab: inp.vocab.clone().unwrap_or_else(|| index_labels(m.cfg.d_vocab)),
            vocab_out: inp.vocab_out.clone().unwrap_or_else(|| index_labels(m.cfg.d_vocab_out)),
            n_heads: m.cfg.n_heads,
            n_ctx: m.cfg.n_ctx,
        }
    }

    fn for_axis(&self, axis: &str) -> Option<Vec<String>> {
        Some(match axis {
            "token" | "query_token" | "key_token" => self.vocab.clone(),
            "output_token" | "label" => self.vocab_out.clone(),
            "head" => (0..self.n_heads).map(|h| format!("H{h}")).collect(),
            "input" | "query_input" | "key_input" => {
                self.vocab.iter().cloned().chain((0..self.n_ctx).map(|p| format!("pos {p}"))).collect()
            }
            _ => return None,
        })
    }

    /// Adds labels to every known axis that has none yet (when the lengths agree).
    fn annotate(&self, mut t: LabeledTensor) -> LabeledTensor {
        for (i, axis) in t.axes.clone().iter().enumerate() {
            if t.labels.contains_key(axis) {
                continue;
            }
            if let Some(l) = self.for_axis(axis).filter(|l| l.len() == t.shape[i]) {
                t.labels.insert(axis.clone(), l);
            }
        }
        t
    }

    fn read<const D: usize>(&self, t: Tensor<D>, axes: &[&str]) -> Result<LabeledTensor> {
        check_size(t.dims().iter().product())?;
        Ok(self.annotate(LabeledTensor::read(t, axes)?))
    }

    fn stack(&self, s: Stack, last: &str) -> Result<LabeledTensor> {
        check_size(s.t.dims().iter().product())?;
        Ok(self.annotate(s.read(last)?))
    }
}

/// A weight matrix view with its factored summary beside it.
#[derive(Serialize)]
struct FactoredView {
    #[serde(flatten)]
    ab: LabeledTensor,
    norm: LabeledTensor,
    eigenvalues: LabeledTensor,
}

#[derive(Serialize)]
struct Uniform {
    baseline: LossAccuracy,
    uniform: LossAccuracy,
}

#[derive(Serialize)]
struct Grouped {
    mean: LabeledTensor,
    std: LabeledTensor,
    counts: Vec<usize>,
}

#[derive(Serialize)]
struct ComponentAblation {
    baseline: LossAccuracy,
    kind: ablation::Ablation,
    components: Vec<String>,
    results: Vec<LossAccuracy>,
}

#[derive(Serialize)]
struct HeadAttribution {
    /// Mean over scored positions of each head's direct logit attribution to the target.
    dla: LabeledTensor,
    zero_ablation: ablation::HeadScan,
    mean_ablation: ablation::HeadScan,
}

#[derive(Serialize)]
struct AttentionFrom {
    query: usize,
    #[serde(flatten)]
    mean: LabeledTensor,
    per_example: LabeledTensor,
}

fn tokens(inp: &Inputs) -> Result<&Tokens> {
    inp.tokens.as_ref().ok_or_else(|| Error::Config("this analysis needs tokens (a task's batch or --tokens)".into()))
}

fn targets(inp: &Inputs) -> Result<&[i64]> {
    inp.targets.as_deref().ok_or_else(|| Error::Config("this analysis needs targets (give a task)".into()))
}

/// Targets with unscored positions set to 0 (for functions that need a token everywhere), and
/// the scored mask.
fn filled(t: &[i64]) -> (Vec<i64>, Vec<bool>) {
    (t.iter().map(|&x| x.max(0)).collect(), t.iter().map(|&x| x != IGNORE).collect())
}

fn nan_where_unscored(mut t: LabeledTensor, scored: &[bool]) -> LabeledTensor {
    let n = scored.len();
    for (i, v) in t.values.iter_mut().enumerate() {
        if !scored[i % n] {
            *v = f32::NAN;
        }
    }
    t
}

/// Runs analysis `name` on `model`.
pub fn run(name: &str, model: &HookedTransformer, inp: &Inputs) -> Result<Value> {
    let entry = find(name).ok_or_else(|| {
        Error::Config(format!("unknown analysis {name:?}; `toylens analyze --list` prints every name"))
    })?;
    let o = &inp.opts;
    let m = model;
    let names = Names::new(m, inp);
    let l = o.layer;
    if entry.needs == Weights {
        return weights_view(name, m, &names, o);
    }
    let toks = tokens(inp)?;
    let run = CachedRun::new(m, toks)?;
    let pos = match &o.positions {
        Some(p) => Positions::from_signed(p, toks.pos)?,
        None => Positions::All,
    };
    let has_mlp = m.cfg.has_mlp();
    match name {
        "decompose_resid" => json(names.stack(run.decompose_resid(None, false, Mode::All, true, &pos)?, "d_model")?),
        "decompose_resid_ln" => {
            let s = run.decompose_resid(None, false, Mode::All, true, &pos)?;
            json(names.stack(run.apply_ln_to_stack(s, None, false, false)?, "d_model")?)
        }
        "accumulated_resid" => json(names.stack(run.accumulated_resid(None, has_mlp, false, &pos)?, "d_model")?),
        "stack_head_results" => json(names.stack(run.stack_head_results(None, true, &pos)?, "d_model")?),
        "stack_neuron_results" => {
            let subset = (!o.neurons.is_empty()).then_some(o.neurons.as_slice());
            // Check before computing: this stack is the one that can exhaust memory.
            let n = subset.map(|s| s.len()).unwrap_or(m.cfg.d_mlp.unwrap_or(0)) * m.cfg.n_layers;
            check_size(n * toks.batch * pos.indices(toks.pos).len() * m.cfg.d_model)?;
            json(names.stack(run.stack_neuron_results(None, subset, true, &pos, None)?, "d_model")?)
        }
        "full_resid_decomposition" => json(names.stack(run.full_resid_decomposition(None, false, false, &pos)?, "d_model")?),
        "dla" => {
            let s = run.decompose_resid(None, false, Mode::All, true, &pos)?;
            json(names.stack(run.dla_vocab(s)?, "output_token")?)
        }
        "logit_lens" => json(names.stack(run.logit_lens(has_mlp, &pos)?, "output_token")?),
        "probs" => json(names.read(softmax(run.logits.clone(), 2), &["batch", "pos", "output_token"])?),
        "attention_pattern" => json(names.read(run.pattern(l)?, &["batch", "head", "query", "key"])?),
        "attention_from" => {
            let q = Positions::from_signed(&[o.query], toks.pos)?.indices(toks.pos)[0];
            let a = run.attention_from(l, q)?;
            json(AttentionFrom {
                query: q,
                mean: names.read(a.clone().mean_dim(0).squeeze_dim::<2>(0), &["head", "key"])?,
                per_example: names.read(a, &["batch", "head", "key"])?,
            })
        }
        "neuron_acts" => json(names.read(run.neuron_heatmap(l, o.example)?, &["pos", "neuron"])?),
        "neuron_position_means" => json(names.read(run.neuron_position_means(l)?, &["pos", "neuron"])?),
        "top_neurons" => json(run.top_neurons(l, o.top)?),
        "neuron_sum" => {
            if o.neurons.is_empty() {
                return Err(Error::Config("neuron_sum needs --neurons".into()));
            }
            json(names.read(run.neuron_sum(l, &o.neurons)?, &["batch", "pos"])?)
        }
        "ablated_predictions" => {
            let target = if o.neurons.is_empty() {
                Target::Head { layer: l, head: o.head }
            } else {
                Target::Neurons { layer: l, neurons: o.neurons.clone() }
            };
            json(run.ablated_predictions(&target, o.ablation)?)
        }
        "addition_losses" => json(addition::addition_losses(run.logits.clone(), toks, o.num_digits)?),
        "running_counts" => json(counts::running_counts(toks, m.cfg.d_vocab)),
        _ => with_targets(name, &run, &names, inp, targets(inp)?),
    }
}

fn with_targets(name: &str, run: &CachedRun, names: &Names, inp: &Inputs, t: &[i64]) -> Result<Value> {
    let o = &inp.opts;
    let m = run.model;
    let l = o.layer;
    let n_out = m.cfg.d_vocab_out;
    let labels = inp.labels.as_deref().unwrap_or(t);
    let (fill, scored) = filled(t);
    match name {
        "loss" => json(metrics::correct_prob(run.logits.clone(), t)?),
        "predictions" => json(metrics::target_token_stats(run.logits.clone(), t)?),
        "dla_by_label" => {
            let s = run.dla_vocab(run.decompose_resid(None, false, Mode::All, true, &Positions::All)?)?;
            let comps = s.labels.clone();
            let [c, b, p, v] = s.t.dims();
            let g = grouping::group_by_label(s.t.reshape([c, b * p, v]), labels, n_out)?;
            let read = |x: Tensor<3>| -> Result<LabeledTensor> {
                Ok(names.read(x, &["component", "label", "output_token"])?.label("component", comps.clone()))
            };
            json(Grouped { mean: read(g.mean)?, std: read(g.std)?, counts: g.counts })
        }
        "logit_attrs" => {
            let s = run.full_resid_decomposition(None, false, false, &Positions::All)?;
            let comps = s.labels.clone();
            let a = names.read(run.logit_attrs(s, &fill, None)?, &["component", "batch", "pos"])?.label("component", comps);
            json(nan_where_unscored(a, &scored))
        }
        "logit_lens_attrs" => {
            let s = run.accumulated_resid(None, m.cfg.has_mlp(), false, &Positions::All)?;
            let comps = s.labels.clone();
            let a = names.read(run.logit_attrs(s, &fill, None)?, &["point", "batch", "pos"])?.label("point", comps);
            json(nan_where_unscored(a, &scored))
        }
        "head_attribution" => {
            let s = run.stack_head_results(None, false, &Positions::All)?;
            let a = super::labeled::to_vec(run.logit_attrs(s, &fill, None)?)?; // [L·h, b·p]
            let (n_l, n_h) = (m.cfg.n_layers, m.cfg.n_heads);
            let n_scored = scored.iter().filter(|&&s| s).count().max(1);
            let per = scored.len();
            let dla: Vec<f32> = (0..n_l * n_h)
                .map(|i| a[i * per..(i + 1) * per].iter().zip(&scored).filter(|(_, s)| **s).map(|(v, _)| *v).sum::<f32>() / n_scored as f32)
                .collect();
            json(HeadAttribution {
                dla: names.annotate(LabeledTensor::new(vec![n_l, n_h], dla, &["layer", "head"])),
                zero_ablation: run.head_ablation_scan(ablation::Ablation::Zero, t)?,
                mean_ablation: run.head_ablation_scan(ablation::Ablation::Mean, t)?,
            })
        }
        "uniform_attention" => {
            let iv = run.ablation(&Target::UniformAttention { layer: l, heads: None }, o.ablation)?;
            json(Uniform { baseline: loss_accuracy(run.logits.clone(), t)?, uniform: run.measure(&[iv], t)? })
        }
        "ablate_head" => json::<AblationResult>(run.ablate(&Target::Head { layer: l, head: o.head }, o.ablation, t)?),
        "ablate_neurons" => {
            if o.neurons.is_empty() {
                return Err(Error::Config("ablate_neurons needs --neurons".into()));
            }
            json(run.ablate(&Target::Neurons { layer: l, neurons: o.neurons.clone() }, o.ablation, t)?)
        }
        "component_ablation" => {
            let mut components = vec![];
            for layer in 0..m.cfg.n_layers {
                components.push(format!("blocks.{layer}.hook_attn_out"));
                if m.cfg.has_mlp() {
                    components.push(format!("blocks.{layer}.hook_mlp_out"));
                }
            }
            let results = components
                .iter()
                .map(|hook| Ok(run.ablate(&Target::Component { hook: hook.clone() }, o.ablation, t)?.ablated))
                .collect::<Result<Vec<_>>>()?;
            json(ComponentAblation { baseline: loss_accuracy(run.logits.clone(), t)?, kind: o.ablation, components, results })
        }
        "head_ablation" => json(run.head_ablation_scan(o.ablation, t)?),
        "patching" => {
            let corrupted = match &inp.corrupted {
                Some(c) => c.clone(),
                None => rolled(&run.tokens),
            };
            json(run.activation_patching(&corrupted, o.patch, t)?)
        }
        "neurons_by_label" => {
            let g = run.neurons_by_label(l, labels, n_out)?;
            let (mean, std, counts) = neurons::read_groups(g, "neuron", &names.vocab_out)?;
            json(Grouped { mean, std, counts })
        }
        other => Err(Error::Config(format!("analysis {other:?} is listed but not wired (a bug)"))),
    }
}

/// The batch with its examples rolled by one (example i gets example i−1's tokens): the
/// default corrupted input for patching.
pub fn rolled(t: &Tokens) -> Tokens {
    let (b, p) = (t.batch, t.pos);
    let ids = (0..b).flat_map(|i| t.ids[((i + b - 1) % b) * p..((i + b - 1) % b + 1) * p].to_vec()).collect();
    Tokens { batch: b, pos: p, ids }
}

fn weights_view(name: &str, m: &HookedTransformer, names: &Names, o: &Options) -> Result<Value> {
    let l = o.layer;
    let factored = |fm: super::FactoredMatrix| -> Result<Value> {
        json(FactoredView {
            ab: names.read(fm.ab(), &["head", "d_model_in", "d_model_out"])?,
            norm: names.annotate(fm.norm()?),
            eigenvalues: names.annotate(fm.eigenvalues()?),
        })
    };
    let svd = |fm: super::FactoredMatrix| -> Result<Value> {
        let mut s = fm.svd()?;
        s.s = names.annotate(s.s);
        json(s)
    };
    match name {
        "ov" => factored(circuits::ov(m, l)?),
        "qk" => factored(circuits::qk(m, l)?),
        "ov_svd" => svd(circuits::ov(m, l)?),
        "qk_svd" => svd(circuits::qk(m, l)?),
        "full_ov" => json(names.read(circuits::full_ov(m, l)?, &["head", "token", "output_token"])?),
        "full_qk" => json(names.read(circuits::full_qk(m, l)?, &["head", "query_token", "key_token"])?),
        "full_ov_pos" => json(names.read(circuits::full_ov_pos(m, l)?, &["head", "input", "output_token"])?),
        "full_qk_pos" => json(names.read(circuits::full_qk_pos(m, l)?, &["head", "query_input", "key_input"])?),
        "ov_diag_top1" => {
            let mut r = ov_diag::ov_diag_top1(circuits::full_ov(m, l)?)?;
            r.fraction = names.annotate(r.fraction);
            json(r)
        }
        "ov_to_neurons" => json(names.read(circuits::ov_to_neurons(m, l, l)?, &["head", "token", "neuron"])?),
        "neuron_logits" => json(names.read(circuits::neuron_logits(m, l)?, &["neuron", "output_token"])?),
        "bias_logits" => {
            let (t, rows) = circuits::bias_logits(m)?;
            json(names.read(t, &["bias", "output_token"])?.label("bias", rows))
        }
        "svd_W_E" => json(annotate_spectrum(spectra::svd_w_e(m, o.k)?, names)),
        "svd_W_U" => json(annotate_spectrum(spectra::svd_w_u(m, o.k)?, names)),
        "svd_W_E_OV" => json(annotate_spectrum(spectra::svd_embed_ov(m, l, o.k)?, names)),
        "unembed_directions" => {
            let mut u = spectra::unembed_directions(m, l, o.k)?;
            u.w_u = names.annotate(u.w_u);
            u.embed_ov = names.annotate(u.embed_ov);
            json(u)
        }
        "min_attention_grid" => {
            let v = m.cfg.d_vocab;
            json(attention::pair_grid_attention(m, v - 1, v as i64 - 1, l)?)
        }
        other => Err(Error::Config(format!("analysis {other:?} is listed but not wired (a bug)"))),
    }
}

fn annotate_spectrum(mut s: spectra::Spectrum, names: &Names) -> spectra::Spectrum {
    s.s = names.annotate(s.s);
    s.u = names.annotate(s.u);
    s.vh = names.annotate(s.vh);
    s.projection = s.projection.map(|p| names.annotate(p));
    s
}
