//! Reading and writing weights, caches and token batches.

pub mod pickle_scan;
pub mod pytorch;
pub mod safetensors;
pub mod tokens;

use crate::error::{Error, Result};
use crate::model::params::StateDict;

/// Reads a state dict from bytes: a PyTorch checkpoint (zip or legacy pickle) or safetensors.
/// One path for the CLI and the browser.
pub fn read_state_dict_bytes(bytes: &[u8]) -> Result<StateDict> {
    if bytes.is_empty() {
        return Err(Error::Weights("the weights file is empty".into()));
    }
    if pytorch::looks_like_pt(bytes) {
        return pytorch::read_state_dict(bytes);
    }
    safetensors::read_state_dict(bytes).map_err(|e| match e {
        Error::Weights(m) if m.starts_with("not a readable safetensors") => {
            Error::Weights(format!("not a PyTorch checkpoint, and {m}"))
        }
        other => other,
    })
}

/// Reads a state dict from a file: `.pt`/`.pth`/`.bin` (PyTorch) or safetensors.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_state_dict_file(path: &std::path::Path) -> Result<StateDict> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    read_state_dict_bytes(&bytes).map_err(|e| match e {
        Error::Weights(m) => Error::Weights(format!("{}: {m}", path.display())),
        other => other,
    })
}
