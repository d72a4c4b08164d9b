//! Reading and writing weights, caches and token batches.

pub mod safetensors;
pub mod tokens;

#[cfg(not(target_arch = "wasm32"))]
pub mod pytorch;

use crate::error::Result;
use crate::model::params::StateDict;

/// Reads a state dict from bytes, recognising safetensors; `.pt` needs a path (native only).
pub fn read_state_dict_bytes(bytes: &[u8]) -> Result<StateDict> {
    safetensors::read_state_dict(bytes)
}

/// Reads a state dict from a file: `.pt`/`.pth`/`.bin` (PyTorch zip) or safetensors.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_state_dict_file(path: &std::path::Path) -> Result<StateDict> {
    use crate::error::Error;
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    // PyTorch's zip format starts with "PK"; legacy pickles with 0x80 (PROTO).
    if bytes.starts_with(b"PK") || bytes.first() == Some(&0x80) {
        pytorch::read_state_dict(path)
    } else {
        safetensors::read_state_dict(&bytes).map_err(|e| match e {
            Error::Weights(m) => Error::Weights(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}
