//! Hook points as TransformerLens has them: every named activation passes through
//! `HookContext::hook`, which applies the interventions registered for that name and keeps
//! the activation in the cache when the name filter asks for it.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use burn::tensor::{Bool, Tensor, TensorData};
use regex::Regex;

use super::scope::HookPoint;
use crate::error::{Error, Result};

/// An activation of any rank, kept flat with its shape so one map can hold all hooks.
///
/// A run extended by more rows, or computed from a later position on, keeps its parts as they
/// are and joins them when an activation is read: a page reads a few of addition's ~25 hooks,
/// and joining every one copied ~150 MB per extension (a fifth of a timeline move's engine time).
#[derive(Clone, Debug)]
pub struct CachedTensor {
    pub shape: Vec<usize>,
    /// Consecutive blocks of the batch axis, each flat, with its number of rows.
    parts: Vec<(usize, Part)>,
    /// NaN positions before each part's own on axis 1: positions a run did not compute.
    nan_before: usize,
    /// The parts joined, once read (an ablation reads `hook_z` once per head).
    whole: OnceCell<Tensor<1>>,
}

/// One block of a `CachedTensor`'s rows: its values, or how to compute them when first read.
// A tensor handle is large and a deferred part small; a cache holds a few dozen parts.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Part {
    Ready(Tensor<1>),
    /// Formed once, when read: an activation a run can give but few analyses read (addition's
    /// `hook_mlp_out`, half the flops of its MLP, which its losses and ablations never need).
    Deferred(Rc<Deferred>),
}

struct Deferred {
    value: OnceCell<Tensor<1>>,
    form: Box<dyn Fn() -> Tensor<1>>,
}

impl Part {
    fn values(&self) -> Tensor<1> {
        match self {
            Self::Ready(t) => t.clone(),
            Self::Deferred(d) => d.value.get_or_init(&d.form).clone(),
        }
    }

    /// Its first `n` values.
    fn first(&self, n: usize) -> Self {
        match self {
            Self::Ready(t) => Self::Ready(t.clone().narrow(0, 0, n)),
            Self::Deferred(_) => {
                // Still deferred, and sharing the whole part's values once they are formed.
                let whole = self.clone();
                Self::Deferred(Rc::new(Deferred {
                    value: OnceCell::new(),
                    form: Box::new(move || whole.values().narrow(0, 0, n)),
                }))
            }
        }
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(t) => f.debug_tuple("Ready").field(t).finish(),
            Self::Deferred(d) => f.debug_tuple("Deferred").field(&d.value.get().is_some()).finish(),
        }
    }
}

impl CachedTensor {
    pub fn from_tensor<const D: usize>(x: Tensor<D>) -> Self {
        let shape = x.dims().to_vec();
        let n: usize = shape.iter().product();
        Self::from_flat(shape, x.reshape([n]))
    }

    /// An activation of `shape` from its values in row-major order.
    pub fn from_flat(shape: Vec<usize>, flat: Tensor<1>) -> Self {
        let rows = shape.first().copied().unwrap_or(1);
        Self { shape, parts: vec![(rows, Part::Ready(flat))], nan_before: 0, whole: OnceCell::new() }
    }

    /// An activation of `shape` that `form` computes (its values in row-major order) the first
    /// time it is read, if ever.
    pub fn deferred(shape: Vec<usize>, form: impl Fn() -> Tensor<1> + 'static) -> Self {
        let rows = shape.first().copied().unwrap_or(1);
        let part = Part::Deferred(Rc::new(Deferred { value: OnceCell::new(), form: Box::new(form) }));
        Self { shape, parts: vec![(rows, part)], nan_before: 0, whole: OnceCell::new() }
    }

    /// The activation's values in row-major order (its parts joined).
    pub fn flat(&self) -> Tensor<1> {
        self.whole.get_or_init(|| self.join()).clone()
    }

    fn join(&self) -> Tensor<1> {
        let n: usize = self.shape.iter().product();
        let joined = |parts: Vec<Tensor<1>>| {
            if parts.len() == 1 { parts.into_iter().next().expect("one part") } else { Tensor::cat(parts, 0) }
        };
        if self.nan_before == 0 {
            return joined(self.parts.iter().map(|(_, t)| t.values()).collect());
        }
        let (p, row) = (self.shape[1], self.shape[2..].iter().product::<usize>());
        let own = p - self.nan_before;
        let padded = self
            .parts
            .iter()
            .map(|(b, t)| {
                let t = t.values();
                let nan = Tensor::<3>::full([*b, self.nan_before, row], f32::NAN, &t.device());
                Tensor::cat(vec![nan, t.reshape([*b, own, row])], 1).reshape([b * p * row])
            })
            .collect();
        joined(padded).reshape([n])
    }

    /// The activation at rank `D`; an error if its rank differs.
    pub fn tensor<const D: usize>(&self) -> Result<Tensor<D>> {
        if self.shape.len() != D {
            return Err(Error::Hook(format!("expected a rank-{D} activation, found shape {:?}", self.shape)));
        }
        let mut dims = [0usize; D];
        dims.copy_from_slice(&self.shape);
        Ok(self.flat().reshape(dims))
    }

    /// The activation with `n` NaN positions put before its own (axis 1, after the batch):
    /// [batch, pos, …] → [batch, n + pos, …]. For `run_with_cache_from`'s positions not computed.
    pub fn padded_before(mut self, n: usize) -> Result<Self> {
        if self.shape.len() < 2 {
            return Err(Error::Hook(format!("expected a [batch, pos, …] activation, found shape {:?}", self.shape)));
        }
        self.shape[1] += n;
        self.nan_before += n;
        self.whole = OnceCell::new();
        Ok(self)
    }

    /// Its first `n` rows (batch axis), `n` ≤ its batch; no copy.
    pub fn first_rows(&self, n: usize) -> Self {
        let row: usize = self.part_row();
        let mut parts = vec![];
        let mut left = n;
        for (b, t) in &self.parts {
            if left == 0 {
                break;
            }
            let take = left.min(*b);
            parts.push((take, if take == *b { t.clone() } else { t.first(take * row) }));
            left -= take;
        }
        let mut shape = self.shape.clone();
        shape[0] = n;
        Self { shape, parts, nan_before: self.nan_before, whole: OnceCell::new() }
    }

    /// These rows followed by `more`'s (the same shape but the batch); None if they differ.
    pub fn joined(&self, more: &CachedTensor) -> Option<Self> {
        if self.shape.is_empty() || self.shape[1..] != more.shape[1..] || self.nan_before != more.nan_before {
            return None;
        }
        let mut shape = self.shape.clone();
        shape[0] += more.shape[0];
        Some(Self {
            shape,
            parts: self.parts.iter().chain(&more.parts).cloned().collect(),
            nan_before: self.nan_before,
            whole: OnceCell::new(),
        })
    }

    // Values a part holds per row of the batch: the positions computed, not the NaN ones.
    fn part_row(&self) -> usize {
        match self.shape.get(1) {
            Some(&p) => (p - self.nan_before) * self.shape[2..].iter().product::<usize>(),
            None => 1,
        }
    }

    pub fn to_vec(&self) -> Result<Vec<f32>> {
        self.flat()
            .to_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::Backend(format!("reading an activation back: {e:?}")))
    }

    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        let data: TensorData = self
            .flat()
            .into_data_async()
            .await
            .map_err(|e| Error::Backend(format!("reading an activation back: {e:?}")))?;
        data.convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| Error::Backend(format!("reading an activation back: {e:?}")))
    }
}

/// TL's `ActivationCache`: hook name → activation.
#[derive(Clone, Debug, Default)]
pub struct ActivationCache {
    pub map: BTreeMap<String, CachedTensor>,
}

impl ActivationCache {
    pub fn get(&self, name: &str) -> Option<&CachedTensor> {
        self.map.get(name)
    }
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Which hooks to keep in the cache.
#[derive(Clone, Debug)]
pub enum NameFilter {
    None,
    All,
    Regex(Regex),
}

impl NameFilter {
    pub fn regex(pattern: &str) -> Result<Self> {
        Regex::new(pattern).map(Self::Regex).map_err(|e| Error::Hook(format!("bad hook-name pattern {pattern:?}: {e}")))
    }
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Regex(r) => r.is_match(name),
        }
    }
}

/// What an intervention does to the selected part of an activation.
#[derive(Clone, Debug)]
pub enum HookAction {
    /// Set to zero.
    Zero,
    /// Set to given means; shape = the activation's shape without the batch axis.
    Mean(CachedTensor),
    /// Set to given values; shape = the activation's full shape.
    Replace(CachedTensor),
    /// Multiply by a factor.
    Scale(f32),
    /// Set to another run's activation at the same hook (same shape).
    Patch(CachedTensor),
    /// For `attn.hook_pattern`: every query attends uniformly to the positions it can see.
    UniformCausal,
}

/// Restricts an intervention to some heads, positions (query positions for patterns)
/// and neurons (the last axis). `None` means all.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub heads: Option<Vec<usize>>,
    pub positions: Option<Vec<usize>>,
    pub neurons: Option<Vec<usize>>,
}

#[derive(Clone, Debug)]
pub struct Intervention {
    pub hook: String,
    pub action: HookAction,
    pub select: Selection,
}

impl Intervention {
    pub fn new(hook: impl Into<String>, action: HookAction) -> Self {
        Self { hook: hook.into(), action, select: Selection::default() }
    }
    pub fn heads(mut self, heads: Vec<usize>) -> Self {
        self.select.heads = Some(heads);
        self
    }
    pub fn positions(mut self, positions: Vec<usize>) -> Self {
        self.select.positions = Some(positions);
        self
    }
    pub fn neurons(mut self, neurons: Vec<usize>) -> Self {
        self.select.neurons = Some(neurons);
        self
    }
}

/// Axis roles of a hook, from its TL name.
fn head_axis(name: &str) -> Option<usize> {
    let last = name.rsplit('.').next().unwrap_or(name);
    match last {
        "hook_attn_scores" | "hook_pattern" => Some(1),
        "hook_q" | "hook_k" | "hook_v" | "hook_z" | "hook_result" | "hook_q_input" | "hook_k_input"
        | "hook_v_input" => Some(2),
        // ln1's hooks carry a head axis when q/k/v inputs are split.
        _ => None,
    }
}

fn position_axis(name: &str) -> usize {
    let last = name.rsplit('.').next().unwrap_or(name);
    match last {
        "hook_attn_scores" | "hook_pattern" => 2,
        _ => 1,
    }
}

/// Threaded through a forward pass.
pub struct HookContext<'a> {
    pub filter: NameFilter,
    pub cache: ActivationCache,
    pub interventions: &'a [Intervention],
    /// Set by the first failing intervention; the forward still completes.
    pub error: Option<Error>,
    /// `run_until`'s last hook: once it has fired, `stopped` is set and the forward computes
    /// nothing more (what it returns then is a placeholder).
    pub stop_after: Option<String>,
    pub stopped: bool,
}

impl<'a> HookContext<'a> {
    pub fn new(filter: NameFilter, interventions: &'a [Intervention]) -> Self {
        Self { filter, cache: ActivationCache::default(), interventions, error: None, stop_after: None, stopped: false }
    }

    /// No caching, no interventions: the training path.
    pub fn silent() -> HookContext<'static> {
        HookContext::new(NameFilter::None, &[])
    }

    /// True when no hook is cached or changed (training): `hook` then returns at once.
    pub fn is_idle(&self) -> bool {
        self.interventions.is_empty() && matches!(self.filter, NameFilter::None) && self.stop_after.is_none()
    }

    pub fn hook<const D: usize>(&mut self, point: &HookPoint, mut x: Tensor<D>) -> Tensor<D> {
        if self.is_idle() {
            return x;
        }
        let name = point.name();
        for iv in self.interventions.iter().filter(|iv| iv.hook == name) {
            match apply(name, x.clone(), iv) {
                Ok(y) => x = y,
                Err(e) => {
                    if self.error.is_none() {
                        self.error = Some(e);
                    }
                }
            }
        }
        if self.filter.matches(name) {
            self.cache.map.insert(name.to_string(), CachedTensor::from_tensor(x.clone()));
        }
        if self.stop_after.as_deref() == Some(name) {
            self.stopped = true;
        }
        x
    }

    /// `hook` for an activation of `dims` that `form` computes: kept deferred (formed when
    /// first read) when nothing else happens at this hook; formed now when an intervention
    /// or `stop_after` names it.
    pub fn defer<const D: usize>(
        &mut self,
        point: &HookPoint,
        dims: [usize; D],
        form: impl Fn() -> Tensor<D> + 'static,
    ) {
        if self.is_idle() {
            return;
        }
        let name = point.name();
        if self.interventions.iter().any(|iv| iv.hook == name) || self.stop_after.as_deref() == Some(name) {
            self.hook(point, form());
        } else if self.filter.matches(name) {
            let n: usize = dims.iter().product();
            self.cache.map.insert(name.to_string(), CachedTensor::deferred(dims.to_vec(), move || form().reshape([n])));
        }
    }
}

/// A 0/1 vector over one axis, shaped to broadcast against a rank-`D` activation.
fn axis_mask<const D: usize>(
    dims: [usize; D],
    axis: usize,
    picks: &[usize],
    what: &str,
    name: &str,
    device: &burn::tensor::Device,
) -> Result<Tensor<D>> {
    let n = dims[axis];
    let mut v = vec![0f32; n];
    for &i in picks {
        if i >= n {
            return Err(Error::Hook(format!("{name}: {what} {i} out of range (size {n})")));
        }
        v[i] = 1.0;
    }
    let mut shape = [1usize; D];
    shape[axis] = n;
    Ok(Tensor::<1>::from_data(TensorData::new(v, [n]), device).reshape(shape))
}

fn apply<const D: usize>(name: &str, x: Tensor<D>, iv: &Intervention) -> Result<Tensor<D>> {
    let dims = x.dims();
    let device = x.device();
    let target: Tensor<D> = match &iv.action {
        HookAction::Zero => x.zeros_like(),
        HookAction::Scale(s) => x.clone().mul_scalar(*s),
        HookAction::Mean(m) => {
            if m.shape.as_slice() != &dims[1..] {
                return Err(Error::Hook(format!(
                    "{name}: mean has shape {:?}, expected {:?} (the activation without its batch axis)",
                    m.shape,
                    &dims[1..]
                )));
            }
            let mut shape = dims;
            shape[0] = 1;
            m.flat().reshape(shape).expand(dims)
        }
        HookAction::Replace(v) | HookAction::Patch(v) => {
            if v.shape.as_slice() != dims.as_slice() {
                return Err(Error::Hook(format!("{name}: replacement has shape {:?}, expected {:?}", v.shape, dims)));
            }
            v.tensor::<D>()?
        }
        HookAction::UniformCausal => {
            if D != 4 || head_axis(name) != Some(1) || !name.ends_with("hook_pattern") {
                return Err(Error::Hook(format!("{name}: uniform causal attention applies to attn.hook_pattern only")));
            }
            let (q, k) = (dims[2], dims[3]);
            let mut v = vec![0f32; q * k];
            for i in 0..q {
                // Query i sees keys 0..=i (offset when the key axis is longer).
                let off = k.saturating_sub(q);
                let seen = i + off + 1;
                for j in 0..seen.min(k) {
                    v[i * k + j] = 1.0 / seen as f32;
                }
            }
            let mut shape = [1usize; D];
            shape[D - 2] = q;
            shape[D - 1] = k;
            Tensor::<1>::from_data(TensorData::new(v, [q * k]), &device).reshape(shape).expand(dims)
        }
    };
    let sel = &iv.select;
    if sel.heads.is_none() && sel.positions.is_none() && sel.neurons.is_none() {
        return Ok(target);
    }
    let mut mask: Option<Tensor<D>> = None;
    let mut combine = |m: Tensor<D>| {
        mask = Some(match mask.take() {
            None => m,
            Some(prev) => prev.mul(m),
        });
    };
    if let Some(h) = &sel.heads {
        let axis =
            head_axis(name).ok_or_else(|| Error::Hook(format!("{name}: has no head axis to select heads on")))?;
        combine(axis_mask(dims, axis, h, "head", name, &device)?);
    }
    if let Some(p) = &sel.positions {
        combine(axis_mask(dims, position_axis(name), p, "position", name, &device)?);
    }
    if let Some(n) = &sel.neurons {
        combine(axis_mask(dims, D - 1, n, "neuron", name, &device)?);
    }
    let mask: Tensor<D, Bool> = mask.expect("at least one selection").expand(dims).greater_elem(0.5);
    Ok(x.mask_where(mask, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn values(c: &CachedTensor) -> Vec<f32> {
        c.to_vec().unwrap()
    }

    /// Parts joined on the batch axis and NaN padding read back as one tensor, and the first
    /// rows of them as the first rows of that tensor: across a part's end and inside a part.
    /// A deferred activation is formed once, when first read: through its first rows, joined
    /// to another run's rows, or whole.
    #[test]
    fn a_deferred_activation_is_formed_once_when_read() {
        let device = Device::flex();
        let formed = std::rc::Rc::new(std::cell::Cell::new(0));
        let count = formed.clone();
        let at = device.clone();
        let t = CachedTensor::deferred(vec![3, 2], move || {
            count.set(count.get() + 1);
            Tensor::<1>::from_data(TensorData::new((0..6).map(|i| i as f32).collect::<Vec<_>>(), [6]), &at)
        });
        let more =
            CachedTensor::from_tensor(Tensor::<2>::from_data(TensorData::new(vec![9.0f32, 9.0], [1, 2]), &device));
        let joined = t.joined(&more).unwrap();
        let first = joined.first_rows(2);
        assert_eq!(formed.get(), 0, "nothing read yet");
        assert_eq!(values(&first), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(values(&joined), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 9.0]);
        assert_eq!(values(&t), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(formed.get(), 1, "formed once for every view of it");
    }

    #[test]
    fn parts_read_as_the_tensor_they_join() {
        let device = Device::flex();
        let t = |rows: usize, at: f32| {
            let v: Vec<f32> = (0..rows * 3 * 2).map(|i| at + i as f32).collect();
            CachedTensor::from_tensor(
                Tensor::<1>::from_data(TensorData::new(v, [rows * 6]), &device).reshape([rows, 3, 2]),
            )
        };
        let joined = t(2, 0.0).padded_before(1).unwrap().joined(&t(3, 100.0).padded_before(1).unwrap()).unwrap();
        assert_eq!(joined.shape, vec![5, 4, 2]);
        let v = values(&joined);
        let row = |r: usize| v[r * 8..(r + 1) * 8].to_vec();
        for r in 0..5 {
            let got = row(r);
            assert!(got[..2].iter().all(|x| x.is_nan()), "row {r}: {got:?}");
            let at = if r < 2 { r as f32 * 6.0 } else { 100.0 + (r - 2) as f32 * 6.0 };
            assert_eq!(got[2..], (0..6).map(|i| at + i as f32).collect::<Vec<_>>()[..], "row {r}");
        }
        for n in [1, 2, 4] {
            let first = joined.first_rows(n);
            assert_eq!(first.shape, vec![n, 4, 2]);
            let got = values(&first);
            assert_eq!(got.len(), n * 8);
            assert!(got.iter().zip(&v).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())), "first {n}");
        }
        assert!(joined.joined(&t(1, 0.0)).is_none(), "a part without the padding does not join");
    }
}
