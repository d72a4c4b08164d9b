//! What several subcommands share: reading configs, tokens and files, and the backend flag.

use std::path::Path;

use clap::ValueEnum;

use crate::io::tokens;
use crate::model::params::StateDict;
use crate::model::{HookedTransformerConfig, Tokens};
use crate::{Error, Result};

#[derive(Clone, Copy, ValueEnum)]
pub enum Backend {
    Cpu,
    Wgpu,
}

pub fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
}

pub fn read_config(p: &Path) -> Result<HookedTransformerConfig> {
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
            tokens::parse_json(
                std::str::from_utf8(&bytes).map_err(|_| Error::Tokens(format!("{arg}: not UTF-8 text")))?,
            )
        }
    } else {
        tokens::parse_json(arg)
    }
}

pub fn device(b: Backend) -> Result<burn::tensor::Device> {
    Ok(match b {
        Backend::Cpu => burn::tensor::Device::flex(),
        #[cfg(feature = "gpu")]
        Backend::Wgpu => burn::tensor::Device::wgpu_options()
            .init()
            .map_err(|e| Error::Backend(format!("no usable wgpu device: {e}")))?,
        #[cfg(not(feature = "gpu"))]
        Backend::Wgpu => {
            return Err(Error::Backend(
                "this toylens was built without its GPU backend: build it with `cargo build --release --features gpu` \
                 (or `TOYLENS_FEATURES=gpu ./build.sh build`)"
                    .into(),
            ));
        }
    })
}

/// A `--weights` file: a TL state dict (safetensors or `.pt`) or a toylens training state (the
/// page's saved run), as the page's engine reads it (`train::state::weights_of`).
pub fn read_weights(p: &Path) -> Result<StateDict> {
    let bytes = std::fs::read(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))?;
    crate::train::state::weights_of(&bytes).map_err(|e| match e {
        Error::Weights(m) => Error::Weights(format!("{}: {m}", p.display())),
        other => other,
    })
}

pub fn write_file(p: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(p, bytes).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
}

/// Prints `text` and a newline; a closed pipe (`| head`) is not an error worth a panic.
pub fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::Error::Io(format!("stdout: {e}"))),
        _ => Ok(()),
    }
}
