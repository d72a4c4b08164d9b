//! Token batches from JSON (`[[1,2,3],[4,5,6]]`) or from a safetensors file's `tokens` tensor.

use crate::error::{Error, Result};
use crate::model::Tokens;

pub fn parse_json(s: &str) -> Result<Tokens> {
    let rows: Vec<Vec<i64>> =
        serde_json::from_str(s).map_err(|e| Error::Tokens(format!("expected a JSON array of token-id arrays: {e}")))?;
    Tokens::from_rows(&rows)
}

pub fn from_safetensors(bytes: &[u8]) -> Result<Tokens> {
    let m = super::safetensors::read_tensors(bytes)?;
    let t = m.get("tokens").ok_or_else(|| Error::Tokens("the file has no tensor named `tokens`".into()))?;
    let ids: Vec<i64> = match &t.data {
        super::safetensors::HostData::I64(v) => v.clone(),
        _ => return Err(Error::Tokens(format!("`tokens` must be an integer tensor, found {}", t.dtype))),
    };
    match t.shape.as_slice() {
        [b, p] => Tokens::new(*b, *p, ids),
        [p] => Tokens::new(1, *p, ids),
        s => Err(Error::Tokens(format!("`tokens` must be [batch, pos], found shape {s:?}"))),
    }
}
