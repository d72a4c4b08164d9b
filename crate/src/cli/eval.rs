//! `toylens eval`: weights on a task's held-out set (or given sequences), as one JSON object.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::common::{read_config, read_tokens, read_weights};
use crate::Result;
use crate::analysis::request::{self, Request};
use crate::analysis::run::RunCache;
use crate::model::HookedTransformer;
use crate::tasks::{self, Batch};
use crate::train::eval::evaluate;

#[derive(clap::Args)]
pub struct EvalArgs {
    pub task: String,
    #[arg(long)]
    pub weights: PathBuf,
    /// Defaults to config.json beside the weights, else the task's config.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Sequences to evaluate (JSON array of token arrays, inline or a file; or safetensors
    /// with `tokens`); labels come from the task. Default: the task's held-out set.
    #[arg(long)]
    pub tokens: Option<String>,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let task = tasks::by_id(&a.task)?;
    let beside = a.weights.parent().map(|d| d.join("config.json")).filter(|p| p.is_file());
    let cfg = match a.config.or(beside) {
        Some(p) => read_config(&p)?,
        None => task.config(),
    };
    let sd = read_weights(&a.weights)?;
    let model = HookedTransformer::from_state_dict(&cfg, &sd, &burn::tensor::Device::flex())?;
    let batch = match &a.tokens {
        Some(t) => {
            let tokens = read_tokens(t)?;
            let targets = task.label(&tokens)?;
            Batch { tokens, targets }
        }
        None => task.held_out(),
    };
    let (loss, accuracy, mut figures) = evaluate(&*task, &model, &batch)?;
    if let Value::Object(f) = &mut figures {
        for &name in task.weight_figures() {
            let v = request::run(Some(&*task), &model, name, None, &Request::default(), &mut RunCache::default())?;
            f.insert(name.to_string(), v["values"][0].clone());
        }
    }
    println!("{}", json!({"task": a.task, "n": batch.len(), "loss": loss, "accuracy": accuracy, "figures": figures}));
    Ok(())
}
