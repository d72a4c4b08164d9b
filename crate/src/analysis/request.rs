//! One analysis request as the CLI and the browser both make it: which weights processing,
//! which tokens (given, or the task's held-out set), and the options. Sharing this is what
//! makes the page print the same numbers as `toylens analyze` for the same checkpoint.
//! Without a task (a checkpoint brought from elsewhere) the tokens must be given, tokens and
//! outputs are named by their ids, and each position's target is the next token.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::{self, Inputs, Needs, Options};
use super::run::RunCache;
use crate::error::{Error, Result};
use crate::model::params::StateDict;
use crate::model::process;
use crate::model::{HookedTransformer, HookedTransformerConfig, Tokens};
use crate::tasks::Task;

/// Weight processing before the analysis (the notebooks analyse processed weights).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Process {
    /// The weights as they are.
    #[default]
    None,
    /// TL's `from_pretrained` defaults: fold LN, centre writing weights and unembed, fold value biases.
    Tl,
    /// What the task's notebook does to its model (`Task::notebook_processing`); `cumsum`
    /// is the older name, from when only that notebook processed its weights.
    #[serde(alias = "cumsum")]
    #[cfg_attr(not(target_arch = "wasm32"), value(alias = "cumsum"))]
    Notebook,
}

/// Everything but the weights and the tokens.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    pub process: Process,
    /// Only the first `limit` examples of the batch.
    pub limit: Option<usize>,
    /// Corrupted tokens for activation patching.
    pub corrupted: Option<Tokens>,
    pub opts: Options,
}

/// The model the analysis reads: `sd` processed as asked, on `device`.
pub fn model(
    task: Option<&dyn Task>,
    cfg: &HookedTransformerConfig,
    sd: &StateDict,
    p: Process,
    device: &Device,
) -> Result<HookedTransformer> {
    let (cfg, sd) = match p {
        Process::None => return HookedTransformer::from_state_dict(cfg, sd, device), // no copy first
        Process::Tl => process::process_weights(cfg, sd, process::Processing::TL_DEFAULT)?,
        Process::Notebook => match task {
            Some(task) => (cfg.clone(), task.notebook_processing(cfg, sd)?),
            None => return Err(Error::Config("notebook processing needs a task (use --process tl or none)".into())),
        },
    };
    HookedTransformer::from_state_dict(&cfg, &sd, device)
}

/// Inputs for analysis `what`: `tokens` labelled by the task, or else its held-out set.
pub fn inputs(
    task: Option<&dyn Task>,
    cfg: &HookedTransformerConfig,
    what: &str,
    tokens: Option<Tokens>,
    req: &Request,
) -> Result<Inputs> {
    let entry = catalog::find(what)?;
    let mut inputs = Inputs {
        vocab: task.map(|t| (0..cfg.d_vocab as i64).map(|i| t.token_str(i)).collect()),
        vocab_out: task.map(|t| t.class_names(cfg.d_vocab_out)),
        opts: req.opts.clone(),
        corrupted: req.corrupted.clone(),
        ..Inputs::default()
    };
    if entry.needs != Needs::Weights {
        let (toks, targets) = match (task, tokens) {
            (Some(task), Some(t)) => {
                let targets = task.label(&t)?;
                (t, targets)
            }
            (Some(task), None) => {
                let b = task.held_out();
                (b.tokens, b.targets)
            }
            (None, Some(t)) => {
                t.check(cfg)?;
                let targets = super::metrics::next_token_targets(&t, cfg.d_vocab_out);
                (t, targets)
            }
            (None, None) => {
                return Err(Error::Config(format!(
                    "{what} runs on tokens: give them (there is no task to draw a batch from)"
                )));
            }
        };
        let (toks, targets) = first_rows(toks, targets, req.limit);
        inputs.tokens = Some(toks);
        inputs.targets = Some(targets);
    }
    Ok(inputs)
}

fn first_rows(t: Tokens, targets: Vec<i64>, n: Option<usize>) -> (Tokens, Vec<i64>) {
    match n {
        Some(n) if n < t.batch => {
            let k = n * t.pos;
            (t.rows(0, n), targets[..k].to_vec())
        }
        _ => (t, targets),
    }
}

/// Runs it: the catalog's JSON, tagged with the analysis and task names. `runs` keeps the
/// last cached run for the next request on the same weights (the caller clears it when they
/// change); `model` must be `req.process` of them.
pub fn run(
    task: Option<&dyn Task>,
    model: &HookedTransformer,
    what: &str,
    tokens: Option<Tokens>,
    req: &Request,
    runs: &mut RunCache,
) -> Result<Value> {
    let inputs = inputs(task, &model.cfg, what, tokens, req)?;
    let key = format!("{}/{:?}", task.map_or("", |t| t.id()), req.process);
    let mut out = catalog::run_with(what, model, &inputs, runs, &key)?;
    if let Value::Object(m) = &mut out {
        m.insert("analysis".into(), Value::from(what));
        m.insert("task".into(), task.map_or(Value::Null, |t| Value::from(t.id())));
    }
    Ok(out)
}
