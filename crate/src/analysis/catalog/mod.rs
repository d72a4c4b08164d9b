//! Every analysis by name, for the CLI (`toylens analyze --what NAME`) and the browser: a
//! registry of typed rows — name, what it needs, what it is, the options it reads and the
//! function that computes it — so a listed name without code cannot compile. Rows live with
//! the notebook that first needed them (`general` holds TL's own views every notebook uses).
//! Each result is JSON; its tensors are `LabeledTensor`s (`{"shape", "values", "axes", "labels"}`).

use std::rc::Rc;

use burn::tensor::Tensor;
use serde::Serialize;
use serde_json::Value;

use super::labeled::{LabeledTensor, index_labels};
use super::metrics::IGNORE;
use super::run::{CachedRun, Positions, RunCache};
use super::stacks::Stack;
use crate::error::{Error, Result};
use crate::model::{HookedTransformer, Tokens};

mod addition;
mod cumsum;
mod general;
mod majority;
mod min;
mod options;
mod sorting;

pub use options::{Inputs, Opt, Options};

/// What an analysis reads besides the weights.
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

impl Needs {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weights => "weights",
            Self::Tokens => "tokens",
            Self::Targets => "targets",
        }
    }
}

/// One registry row.
#[derive(Clone, Copy, Serialize)]
pub struct Analysis {
    pub name: &'static str,
    pub needs: Needs,
    pub about: &'static str,
    /// The options it reads.
    pub reads: &'static [Opt],
    /// It reads the last block's MLP, the final LayerNorm and the logits only at scored
    /// positions (targets not ignored), so its run computes them only from the first scored
    /// position on (`scored`; addition's MLP at 7 of 18 positions).
    pub scored_only: bool,
    #[serde(skip)]
    pub run: fn(&Ctx) -> Result<Value>,
}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis").field("name", &self.name).field("needs", &self.needs).finish()
    }
}

/// A row: `row(name, needs, about, reads, run)`.
const fn row(
    name: &'static str,
    needs: Needs,
    about: &'static str,
    reads: &'static [Opt],
    run: fn(&Ctx) -> Result<Value>,
) -> Analysis {
    Analysis { name, needs, about, reads, scored_only: false, run }
}

/// `scored(row(…))`: a row that reads what follows the last attention at scored positions only.
const fn scored(a: Analysis) -> Analysis {
    Analysis { scored_only: true, ..a }
}

/// The first position any example scores (0 when none is ignored before it, or no targets).
fn first_scored(inputs: &Inputs) -> usize {
    let (Some(targets), Ok(tokens)) = (inputs.targets.as_deref(), tokens(inputs)) else { return 0 };
    let p = tokens.pos.max(1);
    targets.iter().enumerate().filter(|(_, t)| **t != IGNORE).map(|(i, _)| i % p).min().unwrap_or(0)
}

/// Every analysis, notebook by notebook.
pub fn all() -> impl Iterator<Item = &'static Analysis> {
    [general::ROWS, cumsum::ROWS, min::ROWS, addition::ROWS, majority::ROWS, sorting::ROWS].into_iter().flatten()
}

pub fn find(name: &str) -> Result<&'static Analysis> {
    all()
        .find(|a| a.name == name)
        .ok_or_else(|| Error::Config(format!("unknown analysis {name:?}; `toylens analyze --list` prints every name")))
}

/// Runs analysis `name` on `model`.
pub fn run(name: &str, model: &HookedTransformer, inputs: &Inputs) -> Result<Value> {
    run_with(name, model, inputs, &mut RunCache::default(), "")
}

/// `run`, taking the cached run of the tokens from `runs` (and leaving it there), where
/// `key` names the model for it (its weights and processing).
pub fn run_with(
    name: &str,
    model: &HookedTransformer,
    inputs: &Inputs,
    runs: &mut RunCache,
    key: &str,
) -> Result<Value> {
    run_row(find(name)?, model, inputs, runs, key)
}

/// `run_with` of a row (a test may run a `scored` row on a full run to compare).
pub fn run_row(
    a: &'static Analysis,
    model: &HookedTransformer,
    inputs: &Inputs,
    runs: &mut RunCache,
    key: &str,
) -> Result<Value> {
    let run = match a.needs {
        Needs::Weights => None,
        _ => {
            let first = if a.scored_only { first_scored(inputs) } else { 0 };
            Some(runs.run(key, model, tokens(inputs)?, first)?)
        }
    };
    let ctx = Ctx { model, inputs, names: Names::new(model, inputs), run, analysis: a };
    (a.run)(&ctx)
}

/// What a row's function sees: the model, the inputs, the cached run (for analyses of
/// tokens) and the axis labels.
pub struct Ctx<'a> {
    pub model: &'a HookedTransformer,
    pub inputs: &'a Inputs,
    pub names: Names,
    run: Option<Rc<CachedRun>>,
    analysis: &'static Analysis,
}

impl<'a> Ctx<'a> {
    pub fn opts(&self) -> &Options {
        &self.inputs.opts
    }

    /// What `--neurons` (else `--head`) of `--layer` name: the target of the ablation views.
    pub fn ablation_target(&self) -> crate::analysis::ablation::Target {
        use crate::analysis::ablation::Target;
        let o = self.opts();
        if o.neurons.is_empty() {
            Target::Head { layer: o.layer, head: o.head }
        } else {
            Target::Neurons { layer: o.layer, neurons: o.neurons.clone() }
        }
    }

    /// The cached run of the tokens (rows that need tokens have one).
    pub fn run(&self) -> Result<&CachedRun> {
        self.run.as_deref().ok_or_else(|| Error::Config(format!("{} runs on tokens", self.analysis.name)))
    }

    pub fn tokens(&self) -> Result<&Tokens> {
        tokens(self.inputs)
    }

    pub fn targets(&self) -> Result<&[i64]> {
        self.inputs.targets.as_deref().ok_or_else(|| Error::Config("this analysis needs targets (give a task)".into()))
    }

    /// Group per (batch, pos) for the by-label views: the labels, else the targets.
    pub fn labels(&self) -> Result<&[i64]> {
        match self.inputs.labels.as_deref() {
            Some(l) => Ok(l),
            None => self.targets(),
        }
    }

    /// `--positions`, resolved against the batch.
    pub fn positions(&self) -> Result<Positions> {
        let p = self.tokens()?.pos;
        match &self.opts().positions {
            Some(v) => Positions::from_signed(v, p),
            None => Ok(Positions::All),
        }
    }

    /// `--neurons`, required.
    pub fn neurons(&self) -> Result<&[usize]> {
        let n = &self.opts().neurons;
        if n.is_empty() {
            return Err(Error::Config(format!("{} needs --neurons", self.analysis.name)));
        }
        Ok(n)
    }
}

fn tokens(inp: &Inputs) -> Result<&Tokens> {
    inp.tokens.as_ref().ok_or_else(|| Error::Config("this analysis needs tokens (a task's batch or --tokens)".into()))
}

/// Results larger than this many values are refused (their JSON would run to gigabytes).
pub const MAX_VALUES: usize = 1 << 25;

pub(crate) fn check_size(n: usize) -> Result<()> {
    if n > MAX_VALUES {
        return Err(Error::Config(format!(
            "the result would hold {n} values (limit {MAX_VALUES}); narrow it with --limit, --positions or --neurons"
        )));
    }
    Ok(())
}

pub(crate) fn json<T: Serialize>(x: T) -> Result<Value> {
    serde_json::to_value(x).map_err(|e| Error::Io(format!("serialising a result: {e}")))
}

/// Tick labels for the axes we know by name.
pub struct Names {
    pub vocab: Vec<String>,
    pub vocab_out: Vec<String>,
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
    pub fn annotate(&self, mut t: LabeledTensor) -> LabeledTensor {
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

    pub fn read<const D: usize>(&self, t: Tensor<D>, axes: &[&str]) -> Result<LabeledTensor> {
        check_size(t.dims().iter().product())?;
        Ok(self.annotate(LabeledTensor::read(t, axes)?))
    }

    pub fn stack(&self, s: Stack, last: &str) -> Result<LabeledTensor> {
        check_size(s.t.dims().iter().product())?;
        Ok(self.annotate(s.read(last)?))
    }
}

/// Targets with unscored positions set to 0 (for functions that need a token everywhere), and
/// the scored mask.
pub(crate) fn filled(t: &[i64]) -> (Vec<i64>, Vec<bool>) {
    (t.iter().map(|&x| x.max(0)).collect(), t.iter().map(|&x| x != IGNORE).collect())
}

pub(crate) fn nan_where_unscored(mut t: LabeledTensor, scored: &[bool]) -> LabeledTensor {
    let n = scored.len();
    for (i, v) in t.values.iter_mut().enumerate() {
        if !scored[i % n] {
            *v = f32::NAN;
        }
    }
    t
}

/// The batch with its examples rolled by one (example i gets example i−1's tokens): the
/// default corrupted input for patching.
pub fn rolled(t: &Tokens) -> Tokens {
    let (b, p) = (t.batch, t.pos);
    let ids = (0..b).flat_map(|i| t.ids[((i + b - 1) % b) * p..((i + b - 1) % b + 1) * p].to_vec()).collect();
    Tokens { batch: b, pos: p, ids }
}

/// A weight matrix view with its factored summary beside it.
#[derive(Serialize)]
struct FactoredView {
    #[serde(flatten)]
    ab: LabeledTensor,
    norm: LabeledTensor,
    eigenvalues: LabeledTensor,
}

fn factored(c: &Ctx, fm: super::FactoredMatrix) -> Result<Value> {
    json(FactoredView {
        ab: c.names.read(fm.ab(), &["head", "d_model_in", "d_model_out"])?,
        norm: c.names.annotate(fm.norm()?),
        eigenvalues: c.names.annotate(fm.eigenvalues()?),
    })
}

fn svd(c: &Ctx, fm: super::FactoredMatrix) -> Result<Value> {
    let mut s = fm.svd()?;
    s.s = c.names.annotate(s.s);
    json(s)
}

fn annotate_spectrum(mut s: super::spectra::Spectrum, names: &Names) -> super::spectra::Spectrum {
    s.s = names.annotate(s.s);
    s.u = names.annotate(s.u);
    s.vh = names.annotate(s.vh);
    s.projection = s.projection.map(|p| names.annotate(p));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = all().map(|a| a.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name is registered twice");
    }
}
