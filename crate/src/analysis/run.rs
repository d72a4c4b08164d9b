//! A model run with its full activation cache — what TL's `ActivationCache` holds (the cache
//! plus the model it came from) — the last such run kept for the next analysis of the same
//! tokens, and the position selection the cache views take.

use std::rc::Rc;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::{ActivationCache, HookedTransformer, HookedTransformerConfig, NameFilter, Tokens};

pub struct CachedRun {
    /// The model it ran (a clone shares its weights).
    pub model: HookedTransformer,
    pub tokens: Tokens,
    /// [batch, pos, d_vocab_out]
    pub logits: Tensor<3>,
    pub cache: ActivationCache,
}

impl CachedRun {
    pub fn new(model: &HookedTransformer, tokens: &Tokens) -> Result<Self> {
        let (logits, cache) = model.run_with_cache(tokens, NameFilter::All)?;
        Ok(Self { model: model.clone(), tokens: tokens.clone(), logits, cache })
    }

    pub fn cfg(&self) -> &HookedTransformerConfig {
        &self.model.cfg
    }

    pub fn device(&self) -> Device {
        self.logits.device()
    }

    pub fn batch(&self) -> usize {
        self.tokens.batch
    }

    pub fn pos(&self) -> usize {
        self.tokens.pos
    }

    /// A cached activation by its TL hook name, at rank `D`.
    pub fn act<const D: usize>(&self, name: &str) -> Result<Tensor<D>> {
        self.cache
            .get(name)
            .ok_or_else(|| Error::Hook(format!("{name} is not in the cache (this model has no such hook)")))?
            .tensor::<D>()
    }

    /// An error naming the missing part when the model has no MLP.
    pub fn require_mlp(&self) -> Result<()> {
        if self.cfg().has_mlp() {
            Ok(())
        } else {
            Err(Error::Config("this model is attention-only: it has no MLP".into()))
        }
    }

    /// `layer` as TL reads it: `None` means after the last block (the unembed's input).
    pub fn resolve_layer(&self, layer: Option<usize>) -> Result<usize> {
        let n = self.cfg().n_layers;
        match layer {
            None => Ok(n),
            Some(l) if l <= n => Ok(l),
            Some(l) => Err(Error::Config(format!("layer {l} is beyond the model's {n} layers"))),
        }
    }
}

/// The last cached run, kept for the next analysis of the same model and tokens: a page's
/// figures read several analyses of one batch (addition's losses, examples and logit lens of
/// 200 sums), and each built its own full forward. One run only: a full cache of 200 sums of
/// the addition model is ~150 MB. The owner clears it when the weights change.
#[derive(Default)]
pub struct RunCache {
    last: Option<(String, Tokens, Rc<CachedRun>)>,
}

impl RunCache {
    /// The run of `model` (known to the caller as `key`: its weights and processing) on
    /// `tokens`, reused when it is the last one asked for.
    pub fn run(&mut self, key: &str, model: &HookedTransformer, tokens: &Tokens) -> Result<Rc<CachedRun>> {
        if let Some((k, t, run)) = &self.last
            && k == key
            && t == tokens
        {
            return Ok(run.clone());
        }
        self.last = None; // freed before the next one is built
        let run = Rc::new(CachedRun::new(model, tokens)?);
        self.last = Some((key.to_string(), tokens.clone(), run.clone()));
        Ok(run)
    }

    pub fn clear(&mut self) {
        self.last = None;
    }
}

/// Which positions a cache view keeps. Unlike TL's `Slice(int)`, a single position keeps its
/// axis (length 1), so every stack is [components, batch, pos, d].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Positions {
    #[default]
    All,
    Only(Vec<usize>),
}

impl Positions {
    /// From TL-style indices (negative counts from the end).
    pub fn from_signed(idx: &[i64], n_pos: usize) -> Result<Self> {
        let resolved = idx
            .iter()
            .map(|&i| {
                let j = if i < 0 { n_pos as i64 + i } else { i };
                if j < 0 || j as usize >= n_pos {
                    Err(Error::Config(format!("position {i} is outside 0..{n_pos}")))
                } else {
                    Ok(j as usize)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::Only(resolved))
    }

    pub fn indices(&self, n_pos: usize) -> Vec<usize> {
        match self {
            Self::All => (0..n_pos).collect(),
            Self::Only(v) => v.clone(),
        }
    }

    /// Keeps the selected positions of axis `dim`.
    pub fn apply<const D: usize>(&self, t: Tensor<D>, dim: usize) -> Tensor<D> {
        match self {
            Self::All => t,
            Self::Only(v) => {
                let device = t.device();
                t.select(dim, index_tensor(v, &device))
            }
        }
    }
}

pub fn index_tensor(v: &[usize], device: &Device) -> Tensor<1, Int> {
    let ids: Vec<i32> = v.iter().map(|&i| i as i32).collect();
    Tensor::from_data(TensorData::new(ids, [v.len()]), device)
}
