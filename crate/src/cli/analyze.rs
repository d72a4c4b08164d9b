//! `toylens analyze [task] --weights W --what NAME`: any analysis from the command line, as
//! JSON (every tensor `{"shape", "values", "axes", "labels"}`), printed or written with --out.
//! The task supplies the config (unless --config), the batch (its held-out set unless
//! --tokens), the targets (its labeller) and the token names. Without a task (any TL
//! checkpoint) the config is --config or inferred from the weights, --tokens is required for
//! analyses of tokens, and each position's target is the next token. The analysis knobs are
//! the library's own `Options`, flattened into flags.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::common::{read_config, read_text, read_tokens, read_weights, write_stdout};
use crate::analysis::catalog::{self, Options};
use crate::analysis::request::{self, Process, Request};
use crate::analysis::run::RunCache;
use crate::model::infer::infer_config;
use crate::model::params::StateDict;
use crate::model::{HookedTransformer, HookedTransformerConfig, Tokens};
use crate::tasks::{self, Task};
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
    #[arg(long, required_unless_present_any = ["list", "many"])]
    pub what: Option<String>,
    /// Many reads of one checkpoint in one run (a file, or - for standard input): a JSON array
    /// of `{"what", "tokens"?, "request"?}` (`request` as the page sends it: `{process, limit,
    /// opts}`), `{"op": "task_label", "tokens"}` or `{"op": "task_info"}`. Prints a JSON array
    /// with a result per read, `{"error": message}` for one that failed. What the site build
    /// evaluates the pages' claims with (tools/claims.mjs).
    #[arg(long, conflicts_with_all = ["what", "tokens", "corrupted", "limit"])]
    pub many: Option<String>,
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
    let (weights, what) = match (&a.weights, &a.what, &a.many) {
        (Some(w), Some(n), _) => (w, n.as_str()),
        (Some(w), None, Some(_)) => (w, ""),
        _ => return Err(Error::Config("give --weights and --what or --many (or --list)".into())),
    };
    let task = a.task.as_deref().map(tasks::by_id).transpose()?;
    let task = task.as_deref();
    let sd = read_weights(weights)?;
    let cfg = match (&a.config, task) {
        (Some(p), _) => read_config(p)?,
        (None, Some(t)) => t.config(),
        (None, None) => infer_config(&sd)?.cfg,
    };
    if let Some(src) = &a.many {
        let reads = read_many(src)?;
        let out: Vec<Value> = many(task, &cfg, &sd, &reads)
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| json!({ "error": e.to_string() })))
            .collect();
        return emit(&a, "the reads", &Value::from(out));
    }
    let model = request::model(task, &cfg, &sd, a.process, &burn::tensor::Device::flex())?;
    let req = Request {
        process: a.process,
        limit: a.limit,
        corrupted: a.corrupted.as_deref().map(read_tokens).transpose()?,
        opts: a.opts.clone(),
    };
    let tokens = a.tokens.as_deref().map(read_tokens).transpose()?;
    let out = request::run(task, &model, what, tokens, &req, &mut RunCache::default())?;
    emit(&a, what, &out)
}

/// Prints `out`, or writes it to --out.
fn emit(a: &AnalyzeArgs, what: &str, out: &Value) -> Result<()> {
    let text = serde_json::to_string(out).map_err(|e| Error::Io(format!("writing JSON: {e}")))?;
    match &a.out {
        Some(p) => {
            std::fs::write(p, text + "\n").map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            eprintln!("wrote {what} to {}", p.display());
        }
        None => write_stdout(&text)?,
    }
    Ok(())
}

fn read_many(src: &str) -> Result<Vec<Value>> {
    let text = if src == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Error::Io(format!("standard input: {e}")))?
    } else {
        read_text(Path::new(src))?
    };
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("--many {src}: expected a JSON array of reads: {e}")))
}

/// Each read of one checkpoint; the model is built once per weight processing.
fn many(task: Option<&dyn Task>, cfg: &HookedTransformerConfig, sd: &StateDict, reads: &[Value]) -> Vec<Result<Value>> {
    let mut models: Vec<(Process, HookedTransformer)> = vec![];
    // Reads of one batch (a page's figures of it) share its forward.
    let mut runs = RunCache::default();
    let mut one = |read: &Value| -> Result<Value> {
        let field = |k: &str| read.get(k).filter(|v| !v.is_null());
        let tokens = field("tokens")
            .map(|t| serde_json::from_value::<Vec<Vec<i64>>>(t.clone()))
            .transpose()
            .map_err(|e| Error::Tokens(format!("tokens: expected an array of token-id arrays: {e}")))?
            .map(|rows| Tokens::from_rows(&rows))
            .transpose()?;
        let need_task = || task.ok_or_else(|| Error::Config("this read needs a task".into()));
        match field("op").and_then(Value::as_str) {
            Some("task_info") => return tasks::info::info(need_task()?),
            Some("task_label") => {
                let t = tokens.ok_or_else(|| Error::Config("task_label needs tokens".into()))?;
                t.check(cfg)?;
                return Ok(Value::from(need_task()?.label(&t)?));
            }
            Some(op) => return Err(Error::Config(format!("unknown op {op:?} (task_info or task_label)"))),
            None => {}
        }
        let what =
            field("what").and_then(Value::as_str).ok_or_else(|| Error::Config("a read needs what (or op)".into()))?;
        let req: Request = match field("request") {
            Some(r) => serde_json::from_value(r.clone()).map_err(|e| Error::Config(format!("request: {e}")))?,
            None => Request::default(),
        };
        let model = match models.iter().find(|(p, _)| *p == req.process) {
            Some((_, m)) => m.clone(),
            None => {
                let m = request::model(task, cfg, sd, req.process, &burn::tensor::Device::flex())?;
                models.push((req.process, m.clone()));
                m
            }
        };
        request::run(task, &model, what, tokens, &req, &mut runs)
    };
    reads.iter().map(&mut one).collect()
}
