//! `toylens analyze [task] --weights W --what NAME`: any analysis from the command line, as
//! JSON (every tensor `{"shape", "values", "axes", "labels"}`), printed or written with --out.
//! The task supplies the config (unless --config), the batch (its held-out set unless
//! --tokens), the targets (its labeller) and the token names. Without a task (any TL
//! checkpoint) the config is --config or inferred from the weights, --tokens is required for
//! analyses of tokens, and each position's target is the next token. The analysis knobs are
//! the library's own `Options`, flattened into flags.

use std::path::PathBuf;

use clap::Args;

use super::common::{read_config, read_tokens, write_stdout};
use crate::analysis::catalog::{self, Options};
use crate::analysis::request::{self, Process, Request};
use crate::io::read_state_dict_file;
use crate::model::infer::infer_config;
use crate::tasks;
use crate::{Error, Result};

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The task: cumsum, min, addition, majority or sorting; none for any other TL checkpoint.
    pub task: Option<String>,
    /// Weights: safetensors or PyTorch .pt state dict with TL names.
    #[arg(long, required_unless_present = "list")]
    pub weights: Option<PathBuf>,
    /// Model config (TL's to_dict JSON); default: the task's, or without a task the one the
    /// weights imply (`toylens config` prints it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tokens: a JSON array of token-id arrays (inline or a file) or a safetensors file with
    /// `tokens`; default: the task's held-out batch. Targets come from the task's labeller.
    #[arg(long)]
    pub tokens: Option<String>,
    /// Process the weights first: `tl` = load_and_process_state_dict's defaults (fold LN,
    /// centre writing weights and W_U, fold value biases); `notebook` (or `cumsum`) = what the
    /// task's notebook does.
    #[arg(long, value_enum, default_value_t = Process::None)]
    pub process: Process,
    /// Which analysis (see --list).
    #[arg(long, required_unless_present = "list")]
    pub what: Option<String>,
    /// Write the JSON here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print every analysis name, what it needs and the options it reads.
    #[arg(long)]
    pub list: bool,
    /// Use only the first N examples of the batch.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Corrupted tokens for patching (same form as --tokens); default: the batch rolled by one.
    #[arg(long)]
    pub corrupted: Option<String>,
    #[command(flatten)]
    pub opts: Options,
}

fn list() {
    for a in catalog::all() {
        let reads: Vec<String> = a
            .reads
            .iter()
            .map(|o| format!("--{}", serde_json::to_value(o).unwrap().as_str().unwrap().replace('_', "-")))
            .collect();
        println!(
            "{:<26} {:<8} {}{}",
            a.name,
            a.needs.as_str(),
            a.about,
            if reads.is_empty() { String::new() } else { format!(" [{}]", reads.join(" ")) }
        );
    }
}

pub fn run(a: AnalyzeArgs) -> Result<()> {
    if a.list {
        list();
        return Ok(());
    }
    let (weights, what) = match (&a.weights, &a.what) {
        (Some(w), Some(n)) => (w, n.as_str()),
        _ => return Err(Error::Config("give --weights and --what (or --list)".into())),
    };
    let task = a.task.as_deref().map(tasks::by_id).transpose()?;
    let task = task.as_deref();
    let sd = read_state_dict_file(weights)?;
    let cfg = match (&a.config, task) {
        (Some(p), _) => read_config(p)?,
        (None, Some(t)) => t.config(),
        (None, None) => infer_config(&sd)?.cfg,
    };
    let model = request::model(task, &cfg, &sd, a.process, &burn::tensor::Device::flex())?;
    let req = Request {
        process: a.process,
        limit: a.limit,
        corrupted: a.corrupted.as_deref().map(read_tokens).transpose()?,
        opts: a.opts.clone(),
    };
    let tokens = a.tokens.as_deref().map(read_tokens).transpose()?;
    let out = request::run(task, &model, what, tokens, &req)?;
    let text = serde_json::to_string(&out).map_err(|e| Error::Io(format!("writing JSON: {e}")))?;
    match &a.out {
        Some(p) => {
            std::fs::write(p, text + "\n").map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            eprintln!("wrote {what} to {}", p.display());
        }
        None => write_stdout(&text)?,
    }
    Ok(())
}
