//! safetensors I/O through the `safetensors` crate, with TL state-dict names.

use std::collections::BTreeMap;

use half::{bf16, f16};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::model::NamedTensor;
use crate::model::params::StateDict;

/// One tensor from a file, widened to f64-exact host values.
#[derive(Clone, Debug)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: HostData,
}

#[derive(Clone, Debug)]
pub enum HostData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl HostTensor {
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(v) => v.clone(),
            HostData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

fn decode(name: &str, view: &TensorView<'_>) -> Result<HostData> {
    let b = view.data();
    let chunks = |n: usize| b.chunks_exact(n);
    Ok(match view.dtype() {
        Dtype::F32 => HostData::F32(chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
        Dtype::F64 => HostData::F32(chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect()),
        Dtype::F16 => HostData::F32(chunks(2).map(|c| f16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect()),
        Dtype::BF16 => HostData::F32(chunks(2).map(|c| bf16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect()),
        Dtype::I64 => HostData::I64(chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
        Dtype::I32 => HostData::I64(chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64).collect()),
        Dtype::I16 => HostData::I64(chunks(2).map(|c| i16::from_le_bytes(c.try_into().unwrap()) as i64).collect()),
        Dtype::I8 => HostData::I64(b.iter().map(|&x| x as i8 as i64).collect()),
        Dtype::U8 | Dtype::BOOL => HostData::I64(b.iter().map(|&x| x as i64).collect()),
        other => return Err(Error::Weights(format!("tensor {name}: unsupported dtype {other:?}"))),
    })
}

/// Every tensor in a safetensors file.
pub fn read_tensors(bytes: &[u8]) -> Result<BTreeMap<String, HostTensor>> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Weights(format!("not a readable safetensors file ({e})")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = decode(&name, &view)?;
        out.insert(name, HostTensor { shape: view.shape().to_vec(), dtype: format!("{:?}", view.dtype()), data });
    }
    Ok(out)
}

/// A TL state dict from safetensors bytes; floating tensors of any width become f32.
pub fn read_state_dict(bytes: &[u8]) -> Result<StateDict> {
    let mut sd = StateDict::default();
    for (name, t) in read_tensors(bytes)? {
        sd.dtypes.insert(name.clone(), t.dtype.to_lowercase());
        sd.tensors.insert(name, (t.shape.clone(), t.to_f32()));
    }
    Ok(sd)
}

/// A tensor to write.
pub enum OutTensor<'a> {
    F32 { shape: &'a [usize], values: &'a [f32] },
    F16 { shape: &'a [usize], values: &'a [f32] },
    I64 { shape: &'a [usize], values: &'a [i64] },
}

/// A model's parameters (`state_dict`) as tensors to write, f16 when `half`.
pub fn named_tensors(named: &[NamedTensor], half: bool) -> Vec<(String, OutTensor<'_>)> {
    named
        .iter()
        .map(|t| {
            let (shape, values) = (&t.shape[..], &t.values[..]);
            (t.name.clone(), if half { OutTensor::F16 { shape, values } } else { OutTensor::F32 { shape, values } })
        })
        .collect()
}

/// Serialises named tensors to safetensors bytes.
pub fn write_tensors(tensors: &[(String, OutTensor<'_>)]) -> Result<Vec<u8>> {
    write_tensors_with_metadata(tensors, None)
}

/// The header's free-form `__metadata__` (string to string), when the file has one.
pub fn read_metadata(bytes: &[u8]) -> Result<Option<std::collections::HashMap<String, String>>> {
    let (_, m) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Weights(format!("not a readable safetensors file ({e})")))?;
    Ok(m.metadata().clone())
}

/// `write_tensors` with a `__metadata__` header entry.
pub fn write_tensors_with_metadata(
    tensors: &[(String, OutTensor<'_>)],
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![];
    for (name, t) in tensors {
        let (dtype, shape, bytes) = match t {
            OutTensor::F32 { shape, values } => {
                (Dtype::F32, shape.to_vec(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
            OutTensor::F16 { shape, values } => {
                (Dtype::F16, shape.to_vec(), values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect())
            }
            OutTensor::I64 { shape, values } => {
                (Dtype::I64, shape.to_vec(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
        };
        owned.push((name.clone(), dtype, shape, bytes));
    }
    let views = owned
        .iter()
        .map(|(n, d, s, b)| {
            TensorView::new(*d, s.clone(), b).map(|v| (n.clone(), v)).map_err(|e| Error::Io(format!("tensor {n}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::tensor::serialize(views, metadata).map_err(|e| Error::Io(format!("writing safetensors: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let bytes = write_tensors(&[
            ("a".into(), OutTensor::F32 { shape: &[2, 2], values: &[1.0, 2.0, 3.0, 4.5] }),
            ("t".into(), OutTensor::I64 { shape: &[3], values: &[1, 2, 3] }),
        ])
        .unwrap();
        let m = read_tensors(&bytes).unwrap();
        assert_eq!(m["a"].to_f32(), vec![1.0, 2.0, 3.0, 4.5]);
        assert_eq!(m["t"].shape, vec![3]);
        assert!(read_tensors(&bytes[..bytes.len() - 3]).is_err());
        assert!(read_tensors(b"garbage that is not a file").is_err());
        assert!(read_tensors(&[]).is_err());
    }
}
