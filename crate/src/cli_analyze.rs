//! `toylens analyze <task> --weights W --what NAME`: any analysis from the command line, as
//! JSON (every tensor `{"shape", "values", "axes", "labels"}`), printed or written with --out.
//! The task supplies the config (unless --config), the batch (its held-out set unless
//! --tokens), the targets (its labeller) and the token names.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::analysis::ablation::Ablation;
use crate::analysis::catalog::{self, Options};
use crate::analysis::patching::PatchKind;
use crate::analysis::request::{self, Process, Request};
use crate::cli::read_tokens;
use crate::io::read_state_dict_file;
use crate::model::HookedTransformerConfig;
use crate::tasks;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AblationArg {
    Zero,
    Mean,
}

/// Weight processing before analysing (TL's, or the cumsum notebook's three steps).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProcessArg {
    None,
    Tl,
    Cumsum,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PatchArg {
    ResidPre,
    AttnOut,
    MlpOut,
    HeadOutAllPos,
    HeadOutByPos,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// The task: cumsum, min, addition, majority or sorting.
    #[arg(required_unless_present = "list")]
    pub task: Option<String>,
    /// Weights: safetensors or PyTorch .pt state dict with TL names.
    #[arg(long, required_unless_present = "list")]
    pub weights: Option<PathBuf>,
    /// Model config (TL's to_dict JSON); default: the task's.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tokens: a JSON array of token-id arrays (inline or a file) or a safetensors file with
    /// `tokens`; default: the task's held-out batch. Targets come from the task's labeller.
    #[arg(long)]
    pub tokens: Option<String>,
    /// Process the weights first: `tl` = load_and_process_state_dict's defaults (fold LN,
    /// centre writing weights and W_U, fold value biases); `cumsum` = that notebook's calls.
    #[arg(long, value_enum, default_value = "none")]
    pub process: ProcessArg,
    /// Which analysis (see --list).
    #[arg(long, required_unless_present = "list")]
    pub what: Option<String>,
    /// Write the JSON here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print every analysis name and what it needs.
    #[arg(long)]
    pub list: bool,
    /// Use only the first N examples of the batch.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub layer: usize,
    #[arg(long, default_value_t = 0)]
    pub head: usize,
    /// Comma-separated neuron indices.
    #[arg(long, value_delimiter = ',')]
    pub neurons: Vec<usize>,
    /// Singular directions to project onto.
    #[arg(long, default_value_t = 2)]
    pub k: usize,
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[arg(long, default_value_t = 0)]
    pub example: usize,
    /// Comma-separated positions for the cache views (negative counts from the end).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub positions: Option<Vec<i64>>,
    #[arg(long, value_enum, default_value = "zero")]
    pub ablation: AblationArg,
    #[arg(long, value_enum, default_value = "resid-pre")]
    pub patch: PatchArg,
    /// Query position for attention_from (negative counts from the end).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub query: i64,
    /// Corrupted tokens for patching (same form as --tokens); default: the batch rolled by one.
    #[arg(long)]
    pub corrupted: Option<String>,
}

fn list() {
    for e in catalog::ENTRIES {
        let needs = match e.needs {
            catalog::Needs::Weights => "weights",
            catalog::Needs::Tokens => "tokens",
            catalog::Needs::Targets => "targets",
        };
        println!("{:<26} {:<8} {}", e.name, needs, e.about);
    }
}

pub fn run(a: AnalyzeArgs) -> Result<()> {
    if a.list {
        list();
        return Ok(());
    }
    let (task_id, weights, what) = match (&a.task, &a.weights, &a.what) {
        (Some(t), Some(w), Some(n)) => (t.as_str(), w, n.as_str()),
        _ => return Err(Error::Config("give a task, --weights and --what (or --list)".into())),
    };
    let task = tasks::by_id(task_id)?;
    let cfg = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            HookedTransformerConfig::from_json_str(&text)?
        }
        None => task.config(),
    };
    let sd = read_state_dict_file(weights)?;
    let process = match a.process {
        ProcessArg::None => Process::None,
        ProcessArg::Tl => Process::Tl,
        ProcessArg::Cumsum => Process::Cumsum,
    };
    let model = request::model(&cfg, &sd, process, &burn::tensor::Device::flex())?;
    let req = Request {
        process,
        limit: a.limit,
        corrupted: a.corrupted.as_deref().map(read_tokens).transpose()?,
        opts: Options {
            layer: a.layer,
            head: a.head,
            neurons: a.neurons.clone(),
            k: a.k,
            top: a.top,
            example: a.example,
            positions: a.positions.clone(),
            ablation: match a.ablation {
                AblationArg::Zero => Ablation::Zero,
                AblationArg::Mean => Ablation::Mean,
            },
            patch: match a.patch {
                PatchArg::ResidPre => PatchKind::ResidPre,
                PatchArg::AttnOut => PatchKind::AttnOut,
                PatchArg::MlpOut => PatchKind::MlpOut,
                PatchArg::HeadOutAllPos => PatchKind::HeadOutAllPos,
                PatchArg::HeadOutByPos => PatchKind::HeadOutByPos,
            },
            query: a.query,
            ..Options::default()
        },
    };
    let tokens = a.tokens.as_deref().map(read_tokens).transpose()?;
    let out = request::run(task.as_ref(), &model, what, tokens, &req)?;
    let text = serde_json::to_string(&out).map_err(|e| Error::Io(format!("writing JSON: {e}")))?;
    match &a.out {
        Some(p) => {
            std::fs::write(p, text + "\n").map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
            eprintln!("wrote {what} to {}", p.display());
        }
        None => {
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth a panic.
            match writeln!(std::io::stdout().lock(), "{text}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(Error::Io(format!("stdout: {e}"))),
                _ => {}
            }
        }
    }
    Ok(())
}
