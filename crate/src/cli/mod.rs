//! The native CLI: `toylens cache|train|analyze|eval|bench|convert|info|config`, a file per
//! subcommand. Errors print one line and exit non-zero. (The `toylens` binary in `bin/` only
//! calls `main` here.)

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::Result;

pub mod analyze;
pub mod bench;
pub mod cache;
pub mod common;
pub mod config;
pub mod convert;
pub mod eval;
pub mod info;
pub mod train;

pub use common::{Backend, read_tokens};

#[derive(Parser)]
#[command(name = "toylens", version, about = "Tiny TransformerLens-style transformers on burn")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a model and write its logits and every cached activation (TL names) as f32 safetensors.
    Cache(cache::CacheArgs),
    /// Train a task's model with its notebook recipe; writes weights, config, metrics and a timeline.
    Train(train::TrainArgs),
    /// Run any analysis (`--list` names them) and print or write its JSON.
    Analyze(analyze::AnalyzeArgs),
    /// Evaluate weights on a task's held-out set (or given sequences): one JSON object.
    Eval(eval::EvalArgs),
    /// Benchmark training against PyTorch + TransformerLens; JSON under bench/results/.
    Bench(bench::BenchArgs),
    /// Convert a PyTorch `.pt` state dict to safetensors (same TL names, f32).
    Convert(convert::ConvertArgs),
    /// List a weights file's tensors; with --config, check they fit it.
    Info(info::InfoArgs),
    /// Print the TL config a checkpoint's tensor names and shapes imply (what they cannot
    /// tell is listed on stderr).
    Config(config::ConfigArgs),
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Cache(a) => cache::run(a),
        Cmd::Train(a) => train::run(a),
        Cmd::Analyze(a) => analyze::run(a),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Convert(a) => convert::run(a),
        Cmd::Info(a) => info::run(a),
        Cmd::Config(a) => config::run(a),
    }
}

pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("toylens: {e}");
            ExitCode::FAILURE
        }
    }
}
