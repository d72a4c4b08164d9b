//! `LabeledTensor`: the one host form every analysis result takes — `{"shape", "values"}`
//! (row-major) with axis names and per-axis labels beside them, so the CLI's JSON and what the
//! browser receives are the same struct.

use std::collections::BTreeMap;

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledTensor {
    pub shape: Vec<usize>,
    /// Row-major. Non-finite values (e.g. the std of a one-element group) travel as `null`.
    #[serde(serialize_with = "nan_as_null", deserialize_with = "null_as_nan")]
    pub values: Vec<f32>,
    /// One name per axis, e.g. `["head", "input_token", "output_token"]`.
    pub axes: Vec<String>,
    /// Tick labels for the axes that have them (axis name → one label per index).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Vec<String>>,
}

fn nan_as_null<S: Serializer>(v: &[f32], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| if x.is_finite() { Some(*x) } else { None }))
}

fn null_as_nan<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<f32>, D::Error> {
    let v: Vec<Option<f32>> = Vec::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f32::NAN)).collect())
}

/// Reads a burn tensor's data back as f32 (blocking; the browser layer uses `read_async`).
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    data_to_vec(t.into_data())
}

fn data_to_vec(d: TensorData) -> Result<Vec<f32>> {
    d.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("reading a result back: {e:?}")))
}

impl LabeledTensor {
    pub fn new(shape: Vec<usize>, values: Vec<f32>, axes: &[&str]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len(), "values do not fill shape {shape:?}");
        assert_eq!(shape.len(), axes.len(), "one axis name per dimension");
        Self { shape, values, axes: axes.iter().map(|s| s.to_string()).collect(), labels: BTreeMap::new() }
    }

    pub fn scalar(v: f32) -> Self {
        Self::new(vec![], vec![v], &[])
    }

    /// Reads `t` back (blocking) and names its axes.
    pub fn read<const D: usize>(t: Tensor<D>, axes: &[&str]) -> Result<Self> {
        let shape = t.dims().to_vec();
        Ok(Self::new(shape, to_vec(t)?, axes))
    }

    /// As `read`, without blocking (required on WebGPU).
    pub async fn read_async<const D: usize>(t: Tensor<D>, axes: &[&str]) -> Result<Self> {
        let shape = t.dims().to_vec();
        let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("reading a result back: {e:?}")))?;
        Ok(Self::new(shape, data_to_vec(data)?, axes))
    }

    /// Attaches tick labels to `axis` (which must exist and have that many entries).
    pub fn label(mut self, axis: &str, labels: Vec<String>) -> Self {
        let i = self.axis(axis).unwrap_or_else(|| panic!("no axis {axis:?} in {:?}", self.axes));
        assert_eq!(self.shape[i], labels.len(), "axis {axis:?} has {} entries", self.shape[i]);
        self.labels.insert(axis.to_string(), labels);
        self
    }

    pub fn axis(&self, name: &str) -> Option<usize> {
        self.axes.iter().position(|a| a == name)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn offset(&self, idx: &[usize]) -> usize {
        assert_eq!(idx.len(), self.shape.len(), "index rank");
        idx.iter().zip(&self.shape).fold(0, |o, (&i, &n)| {
            assert!(i < n, "index {idx:?} out of shape {:?}", self.shape);
            o * n + i
        })
    }

    pub fn get(&self, idx: &[usize]) -> f32 {
        self.values[self.offset(idx)]
    }

    /// The sub-tensor at index `i` of the first axis (labels of the other axes kept).
    pub fn index_first(&self, i: usize) -> Self {
        let inner: usize = self.shape[1..].iter().product();
        let mut labels = self.labels.clone();
        labels.remove(&self.axes[0]);
        Self {
            shape: self.shape[1..].to_vec(),
            values: self.values[i * inner..(i + 1) * inner].to_vec(),
            axes: self.axes[1..].to_vec(),
            labels,
        }
    }
}

/// "0", "1", … — tick labels for an index axis.
pub fn index_labels(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// TL's head labels, `L{l}H{h}`.
pub fn head_labels(layers: std::ops::Range<usize>, n_heads: usize) -> Vec<String> {
    layers.flat_map(|l| (0..n_heads).map(move |h| format!("L{l}H{h}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_and_nan_round_trip() {
        let t = LabeledTensor::new(vec![2, 2], vec![1.0, f32::NAN, 3.0, 4.0], &["row", "col"])
            .label("row", vec!["a".into(), "b".into()]);
        let s = serde_json::to_string(&t).unwrap();
        assert!(s.starts_with(r#"{"shape":[2,2],"values":[1.0,null,3.0,4.0],"axes":["row","col"]"#), "{s}");
        let back: LabeledTensor = serde_json::from_str(&s).unwrap();
        assert!(back.values[1].is_nan());
        assert_eq!(back.get(&[1, 0]), 3.0);
        assert_eq!(back.index_first(1).values, vec![3.0, 4.0]);
        assert_eq!(back.labels["row"], vec!["a", "b"]);
    }
}
