//! Where a model's parameters come from: a fresh initialisation or a state dict.
//! Components ask for each parameter by its TL name and shape, so building and loading
//! share one code path and a checkpoint mismatch names the exact tensor.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use crate::error::{Error, Result};

/// How TL initialises a parameter.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    Normal { std: f64 },
    Zeros,
    Ones,
}

pub trait ParamSource {
    fn param<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Param<Tensor<D>>>;

    /// The attention score TL writes at masked (future) positions: the attention's `IGNORE`
    /// buffer (`ignore`, e.g. `blocks.0.attn.IGNORE`; its causal `mask` buffer is checked). TL 3 stores −inf; older TL
    /// checkpoints carry −1e5, which then shows in `hook_attn_scores`. A fresh model: −inf.
    fn masked_score(&mut self, _ignore: &str, _mask: &str, _n_ctx: usize) -> Result<f32> {
        Ok(f32::NEG_INFINITY)
    }
}

/// A standard deviation for each parameter (by TL name and shape) of a fresh model.
pub type StdRule = Box<dyn Fn(&str, &[usize]) -> Option<f64> + Send>;

/// Draws every parameter from its `Init` on a device (seed the device first).
pub struct InitSource {
    pub device: Device,
    /// Overrides the std of named weight matrices (e.g. the addition notebook's own init).
    pub std_override: Option<StdRule>,
}

impl InitSource {
    pub fn new(device: &Device) -> Self {
        Self { device: device.clone(), std_override: None }
    }
}

impl ParamSource for InitSource {
    fn param<const D: usize>(&mut self, name: &str, shape: [usize; D], init: Init) -> Result<Param<Tensor<D>>> {
        let init = match (&self.std_override, init) {
            (Some(f), Init::Normal { std }) => Init::Normal { std: f(name, &shape).unwrap_or(std) },
            (_, i) => i,
        };
        let t = match init {
            Init::Normal { std } => Tensor::<D>::random(shape, Distribution::Normal(0.0, std), &self.device),
            Init::Zeros => Tensor::<D>::zeros(shape, &self.device),
            Init::Ones => Tensor::<D>::ones(shape, &self.device),
        };
        Ok(Param::from_tensor(t))
    }
}

/// A loaded state dict: TL name → f32 data with its shape.
#[derive(Clone, Debug, Default)]
pub struct StateDict {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    /// The dtype each tensor had in its file (values are widened to f32 on load).
    pub dtypes: BTreeMap<String, String>,
}

impl StateDict {
    /// From parameters read off a model (all f32).
    pub fn from_named(named: Vec<super::transformer::NamedTensor>) -> Self {
        let mut sd = Self::default();
        for t in named {
            sd.dtypes.insert(t.name.clone(), "f32".into());
            sd.tensors.insert(t.name, (t.shape, t.values));
        }
        sd
    }
}

/// TL keeps these buffers in its state dict beside the parameters.
pub fn is_tl_buffer(name: &str) -> bool {
    name.ends_with(".attn.mask") || name.ends_with(".attn.IGNORE") || name.contains(".rotary_")
}

/// Builds parameters from a state dict, checking names and shapes.
pub struct StateDictSource<'a> {
    pub sd: &'a StateDict,
    pub device: Device,
    pub used: BTreeSet<String>,
}

impl<'a> StateDictSource<'a> {
    pub fn new(sd: &'a StateDict, device: &Device) -> Self {
        Self { sd, device: device.clone(), used: BTreeSet::new() }
    }

    /// Every tensor in the file must have been used (TL's attention buffers are read too):
    /// a tensor the config has no place for is reported, never dropped.
    pub fn finish(self) -> Result<()> {
        let extra: Vec<&String> = self.sd.tensors.keys().filter(|k| !self.used.contains(*k)).collect();
        if extra.is_empty() {
            Ok(())
        } else {
            Err(Error::Weights(format!(
                "{} tensor(s) the config has no place for: {} (does the config match the weights?)",
                extra.len(),
                extra.iter().take(8).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }
}

impl ParamSource for StateDictSource<'_> {
    fn param<const D: usize>(&mut self, name: &str, shape: [usize; D], _init: Init) -> Result<Param<Tensor<D>>> {
        let (found, values) = self
            .sd
            .tensors
            .get(name)
            .ok_or_else(|| Error::Weights(format!("missing tensor {name} (expected shape {shape:?})")))?;
        if found.as_slice() != shape.as_slice() {
            return Err(Error::Weights(format!("tensor {name} has shape {found:?}, expected {shape:?}")));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Weights(format!("tensor {name} holds a non-finite value at flat index {i}")));
        }
        self.used.insert(name.to_string());
        let t = Tensor::<D>::from_data(TensorData::new(values.clone(), shape), &self.device);
        Ok(Param::from_tensor(t))
    }

    fn masked_score(&mut self, ignore: &str, mask: &str, n_ctx: usize) -> Result<f32> {
        // `mask`: TL's causal lower triangle (1 = may attend), [n_ctx, n_ctx] in older TL, empty
        // [0, 0] in TL 3 (built on first use). Anything else would need attention toylens does
        // not implement, so it is refused rather than ignored.
        if let Some((shape, values)) = self.sd.tensors.get(mask) {
            let causal = match shape.as_slice() {
                [0, 0] => true,
                &[n, m] if n == m && n >= n_ctx => {
                    values.iter().enumerate().all(|(i, &v)| v == f32::from(u8::from(i % n <= i / n)))
                }
                _ => false,
            };
            if !causal {
                return Err(Error::Weights(format!(
                    "{mask} is not a causal mask covering n_ctx = {n_ctx} (shape {shape:?}): only causal attention is supported"
                )));
            }
            self.used.insert(mask.to_string());
        }
        let name = ignore;
        let Some((shape, values)) = self.sd.tensors.get(name) else { return Ok(f32::NEG_INFINITY) };
        match values.as_slice() {
            [v] if shape.iter().product::<usize>() == 1 && (*v == f32::NEG_INFINITY || (v.is_finite() && *v < 0.0)) => {
                self.used.insert(name.to_string());
                Ok(*v)
            }
            _ => Err(Error::Weights(format!(
                "{name} must be one negative number (TL's masked attention score), found shape {shape:?}"
            ))),
        }
    }
}
