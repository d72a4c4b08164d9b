//! The native CLI: `toylens cache|train|eval|convert|info`. Errors print one line and exit non-zero.
//! (The `toylens` binary in `bin/` only calls `main` here.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use crate::io::safetensors::{OutTensor, write_tensors};
use crate::io::{read_state_dict_file, tokens};
use crate::model::params::is_tl_buffer;
use crate::model::{HookedTransformer, HookedTransformerConfig, NameFilter, Tokens};
use crate::{Error, Result};

#[derive(Parser)]
#[command(name = "toylens", version, about = "Tiny TransformerLens-style transformers on burn")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Backend {
    Cpu,
    Wgpu,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a model and write its logits and every cached activation (TL names) as f32 safetensors.
    Cache {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        weights: PathBuf,
        /// A JSON array of token-id arrays (inline or a file), or a safetensors file with `tokens`.
        #[arg(long)]
        tokens: String,
        #[arg(long)]
        out: PathBuf,
        /// Keep only hooks whose names match this regex.
        #[arg(long)]
        names: Option<String>,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: Backend,
    },
    /// Train a task's model with its notebook recipe; writes weights, config, metrics and a timeline.
    Train(crate::cli_train::TrainArgs),
    /// Run any analysis (`--list` names them) and print or write its JSON.
    Analyze(crate::cli_analyze::AnalyzeArgs),
    /// Evaluate weights on a task's held-out set (or given sequences): one JSON object.
    Eval(crate::cli_train::EvalArgs),
    /// Benchmark training against PyTorch + TransformerLens; JSON under bench/results/.
    Bench(crate::cli_bench::BenchArgs),
    /// Convert a PyTorch `.pt` state dict to safetensors (same TL names, f32).
    Convert { input: PathBuf, output: PathBuf },
    /// List a weights file's tensors; with --config, check they fit it.
    Info {
        weights: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
}

fn read_config(p: &Path) -> Result<HookedTransformerConfig> {
    HookedTransformerConfig::from_json_str(&read_text(p)?).map_err(|e| match e {
        Error::Config(m) => Error::Config(format!("{}: {m}", p.display())),
        other => other,
    })
}

pub fn read_tokens(arg: &str) -> Result<Tokens> {
    let p = Path::new(arg);
    if p.is_file() {
        let bytes = std::fs::read(p).map_err(|e| Error::Io(format!("{arg}: {e}")))?;
        if arg.ends_with(".safetensors") {
            tokens::from_safetensors(&bytes)
        } else {
            tokens::parse_json(std::str::from_utf8(&bytes).map_err(|_| Error::Tokens(format!("{arg}: not UTF-8 text")))?)
        }
    } else {
        tokens::parse_json(arg)
    }
}

pub fn device(b: Backend) -> Result<burn::tensor::Device> {
    Ok(match b {
        Backend::Cpu => burn::tensor::Device::flex(),
        Backend::Wgpu => burn::tensor::Device::wgpu_options()
            .init()
            .map_err(|e| Error::Backend(format!("no usable wgpu device: {e}")))?,
    })
}

fn write_file(p: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(p, bytes).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Cache { config, weights, tokens, out, names, backend } => {
            let cfg = read_config(&config)?;
            let sd = read_state_dict_file(&weights)?;
            let dev = device(backend)?;
            let model = HookedTransformer::from_state_dict(&cfg, &sd, &dev)?;
            let toks = read_tokens(&tokens)?;
            let filter = match names {
                Some(r) => NameFilter::regex(&r)?,
                None => NameFilter::All,
            };
            let (logits, cache) = model.run_with_cache(&toks, filter)?;
            let logits_shape = logits.dims().to_vec();
            let logits = logits
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| Error::Backend(format!("{e:?}")))?;
            let mut entries: Vec<(String, Vec<usize>, Vec<f32>)> = vec![("logits".into(), logits_shape, logits)];
            for (name, t) in &cache.map {
                entries.push((name.clone(), t.shape.clone(), t.to_vec()?));
            }
            let outs: Vec<(String, OutTensor)> = entries
                .iter()
                .map(|(n, s, v)| (n.clone(), OutTensor::F32 { shape: s, values: v }))
                .collect();
            write_file(&out, &write_tensors(&outs)?)?;
            println!("wrote {} tensors to {}", entries.len(), out.display());
        }
        Cmd::Train(a) => crate::cli_train::train(a)?,
        Cmd::Analyze(a) => crate::cli_analyze::run(a)?,
        Cmd::Eval(a) => crate::cli_train::eval(a)?,
        Cmd::Bench(a) => crate::cli_bench::bench(a)?,
        Cmd::Convert { input, output } => {
            let sd = read_state_dict_file(&input)?;
            let outs: Vec<(String, OutTensor)> = sd
                .tensors
                .iter()
                .filter(|(n, _)| !is_tl_buffer(n))
                .map(|(n, (s, v))| (n.clone(), OutTensor::F32 { shape: s, values: v }))
                .collect();
            write_file(&output, &write_tensors(&outs)?)?;
            println!("wrote {} tensors to {}", outs.len(), output.display());
        }
        Cmd::Info { weights, config } => {
            let sd = read_state_dict_file(&weights)?;
            for (n, (s, _)) in &sd.tensors {
                println!("{n}\t{s:?}\t{}", sd.dtypes.get(n).map_or("f32", |d| d.as_str()));
            }
            if let Some(c) = config {
                let cfg = read_config(&c)?;
                HookedTransformer::from_state_dict(&cfg, &sd, &burn::tensor::Device::flex())?;
                println!("fits {}: {} parameters", c.display(), cfg.n_params());
            }
        }
    }
    Ok(())
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
