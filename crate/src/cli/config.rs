//! `toylens config X.pt`: the TL config a checkpoint's tensor names and shapes imply, as TL's
//! `to_dict()` JSON on stdout; the fields the weights cannot tell (and the value taken for
//! each) on stderr, to confirm or correct before `--config`.

use std::path::PathBuf;

use super::common::{read_weights, write_stdout};
use crate::model::infer::infer_config;
use crate::{Error, Result};

#[derive(clap::Args)]
pub struct ConfigArgs {
    /// Weights: a PyTorch `.pt` state dict or safetensors, with TL names.
    weights: PathBuf,
}

pub fn run(a: ConfigArgs) -> Result<()> {
    let sd = read_weights(&a.weights)?;
    let inferred = infer_config(&sd)?;
    let text = serde_json::to_string_pretty(&inferred.config).map_err(|e| Error::Io(format!("writing JSON: {e}")))?;
    write_stdout(&text)?;
    for f in &inferred.assumed {
        eprintln!("assumed {} = {} ({})", f.field, f.value, f.why);
    }
    Ok(())
}
