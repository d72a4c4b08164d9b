//! PyTorch `.pt` state dicts (`torch.save(model.state_dict())`) from bytes, natively and in
//! the browser alike, through burn's `pytorch-reader`: its unpickler only rebuilds tensors, so
//! nothing in a pickle runs; and a pickle naming any global beyond torch's tensor rebuilders
//! (say `os.system`) is refused outright (`pickle_scan`).

use half::{bf16, f16};
use pytorch_reader::{DType, PytorchReader};

use crate::error::{Error, Result, human_bytes};
use crate::model::params::StateDict;

/// The most f32 bytes a checkpoint may unpack to, checked on the shapes before any tensor is
/// read. A wasm32 memory tops out at 4 GiB and the engine needs room beside the weights (a
/// processed copy, the analyses' intermediates): in Chromium 815 MB of weights ran every
/// view of the bring-your-own page, 1.02 GB loaded but ran out of memory in `full_ov`.
pub const MAX_F32_BYTES: usize = if cfg!(target_arch = "wasm32") { 850 << 20 } else { 16 << 30 };

/// PyTorch's zip format starts with "PK"; legacy pickles with 0x80 (PROTO).
pub fn looks_like_pt(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK") || bytes.first() == Some(&0x80)
}

pub fn read_state_dict(bytes: &[u8]) -> Result<StateDict> {
    super::pickle_scan::check_globals(bytes)?;
    let reader = PytorchReader::from_bytes(bytes.to_vec(), None).map_err(|e| {
        let m = e.to_string();
        // The reader's own size guards (it refuses a tensor past its limits from the shapes).
        if m.contains("would materialize") || m.contains("overflows usize") {
            Error::Weights(format!("checkpoint too large: {m}"))
        } else {
            Error::Weights(format!("not a readable PyTorch checkpoint: {m}"))
        }
    })?;
    let tensors = reader.into_tensors();
    if tensors.is_empty() {
        return Err(Error::Weights("the checkpoint holds no tensors (expected torch.save(model.state_dict()))".into()));
    }
    // Checked: a hostile header can claim shapes whose product overflows.
    let f32_bytes = |t: &pytorch_reader::Tensor| t.shape().iter().try_fold(4usize, |a, &d| a.checked_mul(d));
    let total = tensors.values().map(|t| f32_bytes(t).unwrap_or(usize::MAX)).fold(0, usize::saturating_add);
    if total > MAX_F32_BYTES {
        return Err(Error::Weights(format!(
            "checkpoint too large: its {} tensors take {} as f32, over the {} this engine allows",
            tensors.len(),
            human_bytes(total),
            human_bytes(MAX_F32_BYTES)
        )));
    }
    let mut sd = StateDict::default();
    for (name, t) in tensors {
        let bytes = t.read().map_err(|e| Error::Weights(format!("tensor {name}: {e}")))?;
        if bytes.len() != t.byte_len() {
            return Err(Error::Weights(format!(
                "tensor {name}: its storage holds {} bytes, its shape {:?} needs {}",
                bytes.len(),
                t.shape(),
                t.byte_len()
            )));
        }
        let c = |n: usize| bytes.chunks_exact(n);
        let values: Vec<f32> = match t.dtype() {
            DType::F32 => c(4).map(|b| f32::from_ne_bytes(b.try_into().unwrap())).collect(),
            DType::F64 => c(8).map(|b| f64::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::F16 => c(2).map(|b| f16::from_ne_bytes(b.try_into().unwrap()).to_f32()).collect(),
            DType::BF16 => c(2).map(|b| bf16::from_ne_bytes(b.try_into().unwrap()).to_f32()).collect(),
            DType::I64 => c(8).map(|b| i64::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::I32 => c(4).map(|b| i32::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::Bool | DType::U8 => bytes.iter().map(|&b| b as f32).collect(),
            other => return Err(Error::Weights(format!("tensor {name} has unsupported dtype {other:?}"))),
        };
        sd.dtypes.insert(name.clone(), format!("{:?}", t.dtype()).to_lowercase());
        sd.tensors.insert(name, (t.shape().to_vec(), values));
    }
    Ok(sd)
}
