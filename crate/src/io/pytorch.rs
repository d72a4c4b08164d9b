//! PyTorch `.pt` state dicts (`torch.save(model.state_dict())`) through burn's
//! `pytorch-reader`, which parses the pickle without executing it.

use std::path::Path;

use half::{bf16, f16};
use pytorch_reader::{DType, PytorchReader};

use crate::error::{Error, Result};
use crate::model::params::StateDict;

pub fn read_state_dict(path: &Path) -> Result<StateDict> {
    let reader = PytorchReader::new(path)
        .map_err(|e| Error::Weights(format!("{}: not a readable PyTorch checkpoint ({e})", path.display())))?;
    let mut sd = StateDict::default();
    for (name, t) in reader.into_tensors() {
        let bytes = t.read().map_err(|e| Error::Weights(format!("{}: {e}", path.display())))?;
        let c = |n: usize| bytes.chunks_exact(n);
        let values: Vec<f32> = match t.dtype() {
            DType::F32 => c(4).map(|b| f32::from_ne_bytes(b.try_into().unwrap())).collect(),
            DType::F64 => c(8).map(|b| f64::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::F16 => c(2).map(|b| f16::from_ne_bytes(b.try_into().unwrap()).to_f32()).collect(),
            DType::BF16 => c(2).map(|b| bf16::from_ne_bytes(b.try_into().unwrap()).to_f32()).collect(),
            DType::I64 => c(8).map(|b| i64::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::I32 => c(4).map(|b| i32::from_ne_bytes(b.try_into().unwrap()) as f32).collect(),
            DType::Bool | DType::U8 => bytes.iter().map(|&b| b as f32).collect(),
            other => {
                return Err(Error::Weights(format!(
                    "{}: tensor {name} has unsupported dtype {other:?}",
                    path.display()
                )));
            }
        };
        sd.dtypes.insert(name.clone(), format!("{:?}", t.dtype()).to_lowercase());
        sd.tensors.insert(name, (t.shape().to_vec(), values));
    }
    Ok(sd)
}
