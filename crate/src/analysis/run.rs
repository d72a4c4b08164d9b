//! A model run with its full activation cache — what TL's `ActivationCache` holds (the cache
//! plus the model it came from) — the last such run kept for the next analysis of the same
//! tokens, and the position selection the cache views take.

use std::cell::RefCell;
use std::collections::HashMap;
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
    /// Products of the model's weights that ablations reuse, by name, formed once: shared by
    /// this run's views (`first`, `extended`), which have the same model.
    pub derived: Derived,
    /// Products of this run's activations that several analyses of it share, by name, formed
    /// once: a head's z·W_O^h·W_in at the answer positions is the bulk of both its zero and its
    /// mean ablation. Not shared with views of other rows (`first`, `extended`).
    products: RefCell<HashMap<String, Tensor<3>>>,
}

impl CachedRun {
    pub fn new(model: &HookedTransformer, tokens: &Tokens) -> Result<Self> {
        Self::new_from(model, tokens, 0)
    }

    /// A run whose last MLP, final LayerNorm and logits are computed from position `first` on
    /// (NaN before it; `HookedTransformer::run_with_cache_from`); 0 is a full run.
    pub fn new_from(model: &HookedTransformer, tokens: &Tokens, first: usize) -> Result<Self> {
        let (logits, cache) = model.run_with_cache_from(tokens, NameFilter::All, first)?;
        Ok(Self {
            model: model.clone(),
            tokens: tokens.clone(),
            logits,
            cache,
            derived: Default::default(),
            products: Default::default(),
        })
    }

    /// The run of the first `n` rows: every activation narrowed on its batch axis (row `i` of
    /// a forward depends on row `i` of the input alone). None if an activation has no batch
    /// axis first, which TL's hooks all have.
    pub fn first(&self, n: usize) -> Option<Self> {
        let b = self.batch();
        if n == 0 || n > b {
            return None;
        }
        let mut cache = ActivationCache::default();
        for (name, t) in &self.cache.map {
            if t.shape.first() != Some(&b) {
                return None;
            }
            cache.map.insert(name.clone(), t.first_rows(n));
        }
        Some(Self {
            model: self.model.clone(),
            tokens: self.tokens.rows(0, n),
            logits: self.logits.clone().narrow(0, 0, n),
            cache,
            derived: self.derived.clone(),
            products: Default::default(),
        })
    }

    /// This run followed by `more` (a run of the rows after these, on the same model): the
    /// two caches joined on their batch axes. None if their hooks differ.
    pub fn extended(&self, more: &CachedRun) -> Option<Self> {
        let (b, m) = (self.batch(), more.batch());
        if self.cache.map.len() != more.cache.map.len() || self.pos() != more.pos() {
            return None;
        }
        let mut cache = ActivationCache::default();
        for (name, t) in &self.cache.map {
            let u = more.cache.map.get(name)?;
            if t.shape.first() != Some(&b) || u.shape.first() != Some(&m) {
                return None;
            }
            cache.map.insert(name.clone(), t.joined(u)?);
        }
        let mut ids = self.tokens.ids.clone();
        ids.extend(&more.tokens.ids);
        Some(Self {
            model: self.model.clone(),
            tokens: Tokens { batch: b + m, pos: self.pos(), ids },
            logits: Tensor::cat(vec![self.logits.clone(), more.logits.clone()], 0),
            cache,
            derived: self.derived.clone(),
            products: Default::default(),
        })
    }

    /// The weight product `name`, formed by `form` the first time it is asked for.
    pub fn derived(&self, name: &str, form: impl FnOnce() -> Result<Tensor<2>>) -> Result<Tensor<2>> {
        memo(&self.derived, name, form)
    }

    /// The product of this run's activations `name`, formed by `form` the first time.
    pub fn product(&self, name: &str, form: impl FnOnce() -> Result<Tensor<3>>) -> Result<Tensor<3>> {
        memo(&self.products, name, form)
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

/// `map[name]`, formed by `form` and kept the first time it is asked for.
fn memo<T: Clone>(map: &RefCell<HashMap<String, T>>, name: &str, form: impl FnOnce() -> Result<T>) -> Result<T> {
    if let Some(t) = map.borrow().get(name) {
        return Ok(t.clone());
    }
    let t = form()?;
    map.borrow_mut().insert(name.to_string(), t.clone());
    Ok(t)
}

/// The cached runs kept for the next analyses of the same model: a page's figures read several
/// analyses of one batch (addition's losses, examples and logit lens of 200 sums, its ablations
/// of the first 64, its head attribution of the first 32), and each built its own full forward.
///
/// Two runs are kept, the most recently used first: a page reads its reader's input (a row) and
/// the held-out batch in turn, and one slot made each evict the other. A full cache of 200 sums
/// of the addition model is ~150 MB (a scored run, from position 11, less), so not more. A
/// request for the first rows of a kept run is that run narrowed (no forward); one that extends
/// a kept run runs only the new rows. The owner clears it when the weights change.
#[derive(Default)]
pub struct RunCache {
    kept: Vec<(String, Rc<CachedRun>)>,
    /// The weight products of the last model asked for (by its key), which every run of it
    /// shares: a timeline move's zero and mean ablations form W_O^h·W_in once.
    derived: Option<(String, Derived)>,
}

/// Products of a model's weights, by name (see `CachedRun::derived`).
pub type Derived = Rc<RefCell<HashMap<String, Tensor<2>>>>;

const KEPT_RUNS: usize = 2;

impl RunCache {
    /// The run of `model` (known to the caller as `key`: its weights and processing) on
    /// `tokens`: a kept run, its first rows, or a kept run extended by the rows it lacks.
    /// `first`: its last MLP and logits from that position on (`CachedRun::new_from`); runs of
    /// another `first` are not shared.
    pub fn run(
        &mut self,
        key: &str,
        model: &HookedTransformer,
        tokens: &Tokens,
        first: usize,
    ) -> Result<Rc<CachedRun>> {
        let model_key = key;
        let key = format!("{key}@{first}");
        let same = |k: &String| *k == key;
        if let Some(i) = self.kept.iter().position(|(k, r)| same(k) && &r.tokens == tokens) {
            let hit = self.kept.remove(i);
            let run = hit.1.clone();
            self.kept.insert(0, hit);
            return Ok(run);
        }
        if let Some((_, r)) = self.kept.iter().find(|(k, r)| same(k) && tokens.is_prefix_of(&r.tokens))
            && let Some(first) = r.first(tokens.batch)
        {
            return Ok(Rc::new(first));
        }
        let base = self.kept.iter().position(|(k, r)| same(k) && r.tokens.is_prefix_of(tokens));
        let run = match base {
            Some(i) => {
                let (_, old) = self.kept.remove(i);
                let rest = tokens.rows(old.batch(), tokens.batch);
                let more = CachedRun::new_from(model, &rest, first)?;
                match old.extended(&more) {
                    Some(r) => r,
                    None => {
                        drop((old, more)); // freed before the whole batch runs
                        CachedRun::new_from(model, tokens, first)?
                    }
                }
            }
            None => {
                // The least recently used run is freed before the next one is built.
                self.kept.truncate(KEPT_RUNS - 1);
                CachedRun::new_from(model, tokens, first)?
            }
        };
        // Keyed by the model alone: its weight products serve runs of any `first`.
        let derived = match &self.derived {
            Some((k, d)) if k == model_key => d.clone(),
            _ => self.derived.insert((model_key.to_string(), run.derived.clone())).1.clone(),
        };
        let run = Rc::new(CachedRun { derived, ..run });
        self.kept.insert(0, (key, run.clone()));
        self.kept.truncate(KEPT_RUNS);
        Ok(run)
    }

    pub fn clear(&mut self) {
        self.kept.clear();
        self.derived = None;
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
