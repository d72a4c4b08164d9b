//! `HookedTransformer`: TL's model, with `run_with_cache`, `run_with_hooks` and a TL-named
//! state dict.

use std::cell::OnceCell;
use std::rc::Rc;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use regex::Regex;

use super::block::TransformerBlock;
use super::config::{HookedTransformerConfig, Normalization};
use super::distinct_rows::matmul_distinct_rows;
use super::embed::{Embed, PosEmbed, Unembed};
use super::hooks::{ActivationCache, CachedTensor, HookContext, Intervention, NameFilter};
use super::layer_norm::LayerNorm;
use super::mlp::{Mlp, activate};
use super::params::{InitSource, ParamSource, StateDict, StateDictSource};
use super::scope::{HookPoint, Scope};
use crate::error::{Error, Result};

#[derive(Module, Debug)]
pub struct HookedTransformer {
    pub embed: Embed,
    pub pos_embed: PosEmbed,
    pub blocks: Vec<TransformerBlock>,
    pub ln_final: Option<LayerNorm>,
    pub unembed: Unembed,
    #[module(skip)]
    pub cfg: HookedTransformerConfig,
    #[module(skip)]
    pub hook_tokens: HookPoint,
    #[module(skip)]
    pub hook_embed: HookPoint,
    #[module(skip)]
    pub hook_pos_embed: HookPoint,
}

/// A batch of token ids, row-major [batch, pos], checked against a config.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tokens {
    pub batch: usize,
    pub pos: usize,
    pub ids: Vec<i64>,
}

impl Tokens {
    pub fn new(batch: usize, pos: usize, ids: Vec<i64>) -> Result<Self> {
        if ids.len() != batch * pos {
            return Err(Error::Tokens(format!("{} ids given for shape [{batch}, {pos}]", ids.len())));
        }
        Ok(Self { batch, pos, ids })
    }

    /// From a list of equally long sequences.
    pub fn from_rows(rows: &[Vec<i64>]) -> Result<Self> {
        let pos = rows.first().map(|r| r.len()).unwrap_or(0);
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != pos) {
            return Err(Error::Tokens(format!("sequence {i} has length {}, the first has {pos}", r.len())));
        }
        Self::new(rows.len(), pos, rows.iter().flatten().copied().collect())
    }

    pub fn check(&self, cfg: &HookedTransformerConfig) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::Tokens("empty batch: no sequences".into()));
        }
        if self.pos == 0 {
            return Err(Error::Tokens("empty sequences: no tokens to run".into()));
        }
        if self.pos > cfg.n_ctx {
            return Err(Error::Tokens(format!("sequence length {} exceeds n_ctx = {}", self.pos, cfg.n_ctx)));
        }
        if let Some((i, t)) = self.ids.iter().enumerate().find(|(_, t)| **t < 0 || **t as usize >= cfg.d_vocab) {
            return Err(Error::Tokens(format!(
                "token {t} at [{}, {}] is out of vocabulary (d_vocab = {})",
                i / self.pos,
                i % self.pos,
                cfg.d_vocab
            )));
        }
        Ok(())
    }

    /// Rows `start..end` of the batch.
    pub fn rows(&self, start: usize, end: usize) -> Self {
        Self { batch: end - start, pos: self.pos, ids: self.ids[start * self.pos..end * self.pos].to_vec() }
    }

    /// Whether these are the first rows of `other` (fewer of them, the same length).
    pub fn is_prefix_of(&self, other: &Tokens) -> bool {
        self.pos == other.pos && self.batch < other.batch && other.ids.starts_with(&self.ids)
    }

    pub fn tensor(&self, device: &Device) -> Tensor<2, Int> {
        let ids: Vec<i32> = self.ids.iter().map(|&t| t as i32).collect();
        Tensor::from_data(TensorData::new(ids, [self.batch, self.pos]), device)
    }
}

/// One named parameter, read back to the host.
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

struct PathVisitor {
    path: Vec<String>,
    out: Vec<(String, Tensor<1>, Vec<usize>)>,
}

impl ModuleVisitor for PathVisitor {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let n: usize = shape.iter().product();
        self.out.push((self.path.join("."), t.reshape([n]), shape));
    }
}

struct FreezeMapper<'a> {
    path: Vec<String>,
    pattern: &'a Regex,
    zero: bool,
    frozen: Vec<String>,
}

impl ModuleMapper for FreezeMapper<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.join(".");
        if self.pattern.is_match(&name) {
            self.frozen.push(name);
            let param = if self.zero { param.map(|t| t.zeros_like()) } else { param };
            param.set_require_grad(false)
        } else {
            param
        }
    }
}

impl HookedTransformer {
    fn build<S: ParamSource>(cfg: &HookedTransformerConfig, src: &mut S) -> Result<Self> {
        let d = cfg.d_model;
        let std = cfg.initializer_range;
        let embed = Embed::new(src, cfg.d_vocab, d, std)?;
        let pos_embed = PosEmbed::new(src, cfg.n_ctx, d, std)?;
        let root = Scope::root();
        let mut blocks = (0..cfg.n_layers)
            .map(|l| TransformerBlock::new(src, cfg, &root.pp("blocks").pp(l)))
            .collect::<Result<Vec<_>>>()?;
        if let Some(first) = blocks.first_mut() {
            first.attn.reads_embedding = true;
        }
        let ln_final = match cfg.normalization_type {
            Normalization::None => None,
            n => Some(LayerNorm::new(src, &root.pp("ln_final"), d, cfg.eps, n == Normalization::Ln)?),
        };
        let unembed = Unembed::new(src, d, cfg.d_vocab_out, std)?;
        Ok(Self {
            embed,
            pos_embed,
            blocks,
            ln_final,
            unembed,
            cfg: cfg.clone(),
            hook_tokens: HookPoint::new(&root, "hook_tokens"),
            hook_embed: HookPoint::new(&root, "hook_embed"),
            hook_pos_embed: HookPoint::new(&root, "hook_pos_embed"),
        })
    }

    /// TL's default initialisation: every `W_*` ~ N(0, initializer_range), biases 0, LN weights 1.
    /// Seeds the device with the config's seed when it has one.
    pub fn init(cfg: &HookedTransformerConfig, device: &Device) -> Result<Self> {
        if let Some(seed) = cfg.seed {
            device.seed(seed);
        }
        Self::build(cfg, &mut InitSource::new(device))
    }

    /// Like `init`, with a custom source (e.g. a different std per weight).
    pub fn init_with(cfg: &HookedTransformerConfig, src: &mut InitSource) -> Result<Self> {
        if let Some(seed) = cfg.seed {
            src.device.seed(seed);
        }
        Self::build(cfg, src)
    }

    pub fn from_state_dict(cfg: &HookedTransformerConfig, sd: &StateDict, device: &Device) -> Result<Self> {
        let mut src = StateDictSource::new(sd, device);
        let model = Self::build(cfg, &mut src)?;
        src.finish()?;
        Ok(model)
    }

    fn params_flat(&self) -> Vec<(String, Tensor<1>, Vec<usize>)> {
        let mut v = PathVisitor { path: vec![], out: vec![] };
        self.visit(&mut v);
        v.out
    }

    /// TL-named parameters, in module order.
    pub fn state_dict(&self) -> Result<Vec<NamedTensor>> {
        self.params_flat()
            .into_iter()
            .map(|(name, t, shape)| {
                let values = t
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .map_err(|e| Error::Backend(format!("reading {name}: {e:?}")))?;
                Ok(NamedTensor { name, shape, values })
            })
            .collect()
    }

    /// The same, read back without blocking (required on WebGPU).
    pub async fn state_dict_async(&self) -> Result<Vec<NamedTensor>> {
        let mut out = vec![];
        for (name, t, shape) in self.params_flat() {
            let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("reading {name}: {e:?}")))?;
            let values = data
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| Error::Backend(format!("reading {name}: {e:?}")))?;
            out.push(NamedTensor { name, shape, values });
        }
        Ok(out)
    }

    pub fn param_names(&self) -> Vec<String> {
        self.params_flat().into_iter().map(|(n, _, _)| n).collect()
    }

    /// Stops gradients to every parameter whose TL name matches `pattern`; returns their names.
    pub fn freeze(self, pattern: &str) -> Result<(Self, Vec<String>)> {
        self.map_matching(pattern, false)
    }

    /// Sets every parameter matching `pattern` to zero and freezes it (the notebooks'
    /// "no biases" models); returns their names.
    pub fn zero_and_freeze(self, pattern: &str) -> Result<(Self, Vec<String>)> {
        self.map_matching(pattern, true)
    }

    fn map_matching(self, pattern: &str, zero: bool) -> Result<(Self, Vec<String>)> {
        let re = Regex::new(pattern).map_err(|e| Error::Config(format!("bad freeze pattern {pattern:?}: {e}")))?;
        let mut m = FreezeMapper { path: vec![], pattern: &re, zero, frozen: vec![] };
        let model = self.map(&mut m);
        Ok((model, m.frozen))
    }

    /// The forward pass through every hook point; logits [batch, pos, d_vocab_out].
    pub fn forward_hooked(&self, tokens: Tensor<2, Int>, ctx: &mut HookContext) -> Tensor<3> {
        let resid = self.residual(tokens, ctx);
        self.head(resid, ctx)
    }

    /// The residual stream after the last block, [batch, pos, d_model].
    fn residual(&self, tokens: Tensor<2, Int>, ctx: &mut HookContext) -> Tensor<3> {
        let mut resid = self.embedded(tokens, ctx);
        for block in &self.blocks {
            resid = block.forward(resid, ctx);
            if ctx.stopped {
                break; // run_until has what it asked for
            }
        }
        resid
    }

    /// Token plus position embeddings, the residual stream entering the first block.
    fn embedded(&self, tokens: Tensor<2, Int>, ctx: &mut HookContext) -> Tensor<3> {
        let [b, p] = tokens.dims();
        if self.cfg.use_hook_tokens {
            ctx.hook(&self.hook_tokens, tokens.clone().float());
        }
        let embed = ctx.hook(&self.hook_embed, self.embed.forward(tokens));
        let pos = ctx.hook(&self.hook_pos_embed, self.pos_embed.forward(b, p));
        embed + pos
    }

    /// Logits from the last block's `hook_resid_mid` [batch, pos, d_model] (any subset of
    /// positions: the rest is per position): its MLP, the final LayerNorm and the unembedding.
    pub fn logits_from_last_mid(&self, resid_mid: Tensor<3>) -> Tensor<3> {
        if let Some(mlp) = self.folded_mlp() {
            let [b, p, d] = resid_mid.dims();
            let m = mlp.b_in.val().dims()[0];
            // An ablated attention leaves rows that depend on the token and position alone.
            let pre = matmul_distinct_rows(resid_mid.clone().reshape([b * p, d]), mlp.W_in.val())
                + mlp.b_in.val().reshape([1, m]);
            return self.folded_logits(mlp, &self.folded_out_u(mlp), resid_mid, pre.reshape([b, p, m]));
        }
        let mut ctx = HookContext::silent();
        let resid = match self.blocks.last() {
            Some(b) => b.after_attention(resid_mid, &mut ctx),
            None => resid_mid,
        };
        self.head(resid, &mut ctx)
    }

    /// The last block's MLP when no LayerNorm follows it (addition's model): the logits are then
    /// linear in the MLP's output, `mid·W_U + act(pre)·(W_out·W_U) + b_out·W_U + b_U`, so an
    /// ablation's MLP output projection (d_mlp × d_model per row) becomes one of d_mlp ×
    /// d_vocab_out: half its flops. None when a LayerNorm is in the way, or there is no MLP.
    pub fn folded_mlp(&self) -> Option<&Mlp> {
        let block = self.blocks.last()?;
        let mlp = block.mlp.as_ref()?;
        (self.ln_final.is_none() && block.ln2.is_none() && mlp.ln.is_none()).then_some(mlp)
    }

    /// The last block's `after_attention` and the `head` of a `folded_mlp` model, with the
    /// same hooks: the logits through W_out·W_U, the MLP's output and the stream after it
    /// deferred (formed when an analysis reads them). A scored run's MLP then costs half its
    /// flops: addition's losses, ablations and logit lens never read either.
    ///
    /// # Shapes
    /// - resid_mid: [batch, pos, d_model]; output: [batch, pos, d_vocab_out]
    fn folded_tail(
        &self,
        block: &TransformerBlock,
        mlp: &Mlp,
        resid_mid: Tensor<3>,
        ctx: &mut HookContext,
    ) -> Tensor<3> {
        let hk = &block.hooks;
        let mid = if block.hook_mlp_in { ctx.hook(&hk.mlp_in, resid_mid) } else { resid_mid };
        let pre = ctx.hook(&mlp.hook_pre, mlp.pre(mid.clone()));
        let post = ctx.hook(&mlp.hook_post, activate(mlp.act, pre));
        let logits = self.folded_logits_post(mlp, &self.folded_out_u(mlp), mid.clone(), post.clone());
        let dims = mid.dims();
        let (mlp, formed) = (mlp.clone(), Rc::new(OnceCell::new()));
        let mlp_out = Rc::new(move || formed.get_or_init(|| mlp.out(post.clone())).clone());
        let out = mlp_out.clone();
        ctx.defer(&hk.mlp_out, dims, move || out());
        let stream: Rc<dyn Fn() -> Tensor<3>> = Rc::new(move || mid.clone() + mlp_out());
        let resid_post = stream.clone();
        ctx.defer(&hk.resid_post, dims, move || resid_post());
        // No final LayerNorm: the unembedding reads the stream after the block as it is.
        ctx.defer(&self.unembed.hook_in, dims, move || stream());
        ctx.hook(&self.unembed.hook_out, logits)
    }

    /// W_out·W_U of a `folded_mlp` model, [d_mlp, d_vocab_out]: what `folded_logits` projects
    /// the MLP's activation through (a caller making many calls forms it once).
    pub fn folded_out_u(&self, mlp: &Mlp) -> Tensor<2> {
        mlp.W_out.val().matmul(self.unembed.W_U.val())
    }

    /// `logits_from_last_mid` of a `folded_mlp` model, given the MLP's pre-activation `pre`
    /// at the same positions (an ablation may know it cheaper than from `mid`) and `out_u`,
    /// `folded_out_u(mlp)`.
    ///
    /// # Shapes
    /// - resid_mid: [batch, pos, d_model]; pre: [batch, pos, d_mlp]; output: [batch, pos, d_vocab_out]
    pub fn folded_logits(&self, mlp: &Mlp, out_u: &Tensor<2>, resid_mid: Tensor<3>, pre: Tensor<3>) -> Tensor<3> {
        self.folded_logits_post(mlp, out_u, resid_mid, activate(mlp.act, pre))
    }

    /// `folded_logits` given the MLP's activation `post` [batch, pos, d_mlp].
    fn folded_logits_post(&self, mlp: &Mlp, out_u: &Tensor<2>, resid_mid: Tensor<3>, post: Tensor<3>) -> Tensor<3> {
        let [b, p, d] = resid_mid.dims();
        let (m, v) = (mlp.b_in.val().dims()[0], self.unembed.b_U.val().dims()[0]);
        let w_u = self.unembed.W_U.val();
        let bias = mlp.b_out.val().reshape([1, d]).matmul(w_u.clone()) + self.unembed.b_U.val().reshape([1, v]);
        let logits = resid_mid.reshape([b * p, d]).matmul(w_u) + post.reshape([b * p, m]).matmul(out_u.clone()) + bias;
        logits.reshape([b, p, v])
    }

    /// The same from the last block's output (`hook_resid_post`): final LayerNorm and unembedding.
    pub fn logits_from_last_post(&self, resid_post: Tensor<3>) -> Tensor<3> {
        self.head(resid_post, &mut HookContext::silent())
    }

    /// The final LayerNorm and the unembedding: per position, so they may run on a subset.
    fn head(&self, mut resid: Tensor<3>, ctx: &mut HookContext) -> Tensor<3> {
        if let Some(ln) = &self.ln_final {
            resid = ln.forward(resid, ctx);
        }
        self.unembed.forward(resid, ctx)
    }

    /// Logits without hooks (the training path). Tokens must already be checked.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.forward_hooked(tokens, &mut HookContext::silent())
    }

    /// Logits at `positions` only (ascending, not empty), [batch, positions.len(), d_vocab_out]:
    /// the training path of tasks that score a few positions (min scores 1 of 3, sorting 20 of
    /// 42, addition 6 of 18). The model is causal, so positions after the last scored one are
    /// not computed at all; the last block's queries, MLP, final LayerNorm and unembedding run
    /// from the first scored position on. Same logits there as `forward` (addition: 2× fewer
    /// flops). No positions means all of them, as in `loss::target_tensors`.
    pub fn forward_at(&self, tokens: Tensor<2, Int>, positions: &[usize]) -> Tensor<3> {
        let mut ctx = HookContext::silent();
        let (Some(&first), Some(&last)) = (positions.first(), positions.last()) else {
            return self.forward(tokens);
        };
        let p = tokens.dims()[1];
        let end = (last + 1).min(p);
        let tokens = if end < p { tokens.narrow(1, 0, end) } else { tokens };
        let mut resid = self.embedded(tokens, &mut ctx);
        // The positions computed are from..end.
        let from = match self.blocks.split_last() {
            Some((last_block, earlier)) => {
                for block in earlier {
                    resid = block.forward(resid, &mut ctx);
                }
                resid = last_block.forward_from(resid, first, &mut ctx);
                first
            }
            None => 0,
        };
        // Keep the scored ones (all of them when they are contiguous).
        if positions.len() < end - from {
            let idx: Vec<i32> = positions.iter().map(|&q| (q - from) as i32).collect();
            let device = resid.device();
            resid = resid.select(1, Tensor::<1, Int>::from_data(TensorData::new(idx, [positions.len()]), &device));
        }
        self.head(resid, &mut ctx)
    }

    /// Checked tokens → logits and the activations whose names match `filter`.
    pub fn run_with_cache(&self, tokens: &Tokens, filter: NameFilter) -> Result<(Tensor<3>, ActivationCache)> {
        self.run_with_hooks(tokens, &[], filter)
    }

    /// `run_with_cache` for analyses that read the last block's output projection, MLP, the
    /// final LayerNorm and the logits at positions `first..` only (addition's figures score 6
    /// of 18 positions): everything up to the last block's `attn.hook_z` is computed at every
    /// position (each position is still a key and a value), and what follows it only from
    /// `first` on. The later hooks and the logits keep their full shape, NaN before `first`,
    /// so a read of a position not computed shows as NaN rather than as a wrong number. Same
    /// values at the computed positions (each is per position). A full run when `first` is 0
    /// or the last block has no MLP (nothing to save).
    pub fn run_with_cache_from(
        &self,
        tokens: &Tokens,
        filter: NameFilter,
        first: usize,
    ) -> Result<(Tensor<3>, ActivationCache)> {
        let Some(last) = self.blocks.last().filter(|b| b.mlp.is_some()) else {
            return self.run_with_cache(tokens, filter);
        };
        let p = tokens.pos;
        if first == 0 || first >= p {
            return self.run_with_cache(tokens, filter);
        }
        let attn = &last.attn;
        if attn.use_attn_result {
            return self.run_with_cache(tokens, filter); // hook_result is per head: kept simple
        }
        let (z_name, pre_name) = (attn.hooks.z.name().to_string(), last.hooks.resid_pre.name().to_string());
        // Cached whatever the filter asks (the rest of the run starts from z), then kept as it asks.
        let mut cache = self.run_until(tokens, NameFilter::All, &z_name)?;
        let read = |name: &str| cache.get(name).ok_or_else(|| Error::Hook(format!("{name} was not cached")));
        let z: Tensor<4> = read(&z_name)?.tensor::<4>()?.narrow(1, first, p - first);
        let resid_pre: Tensor<3> = read(&pre_name)?.tensor::<3>()?.narrow(1, first, p - first);
        cache.map.retain(|name, _| filter.matches(name));
        let mut ctx = HookContext::new(filter, &[]);
        // The block's output projection and resid_mid as its forward has them, from `first` on:
        // the positions before it reach no scored logit (addition's 200 sums: 0.57 G of 0.94 G
        // multiply-adds in W_O saved).
        let attn_out = ctx.hook(&last.hooks.attn_out, attn.output(z));
        let tail = ctx.hook(&last.hooks.resid_mid, resid_pre + attn_out);
        let logits = match self.folded_mlp() {
            Some(mlp) => self.folded_tail(last, mlp, tail, &mut ctx),
            None => {
                let tail = last.after_attention(tail, &mut ctx);
                self.head(tail, &mut ctx)
            }
        };
        for (name, t) in ctx.cache.map {
            cache.map.insert(name, t.padded_before(first)?);
        }
        let logits = CachedTensor::from_tensor(logits).padded_before(first)?.tensor()?;
        Ok((logits, cache))
    }

    /// The activations whose names match `filter` among the hooks up to `last` (inclusive),
    /// without computing the rest of the forward: TL's `stop_at_layer`, to the hook. For
    /// analyses of early activations over many inputs (the attention patterns of every pair of
    /// numbers), where the later layers and the unembedding would be most of the work.
    pub fn run_until(&self, tokens: &Tokens, filter: NameFilter, last: &str) -> Result<ActivationCache> {
        tokens.check(&self.cfg)?;
        if !self.hook_points().iter().any(|h| h.name() == last) {
            return Err(Error::Hook(format!("no hook named {last:?} in this model")));
        }
        let device = self.embed.W_E.val().device();
        let mut ctx = HookContext::new(filter, &[]);
        ctx.stop_after = Some(last.to_string());
        let resid = self.residual(tokens.tensor(&device), &mut ctx);
        if !ctx.stopped {
            self.head(resid, &mut ctx);
        }
        Ok(ctx.cache)
    }

    /// As `run_with_cache`, with interventions applied at their hooks, in order.
    pub fn run_with_hooks(
        &self,
        tokens: &Tokens,
        interventions: &[Intervention],
        filter: NameFilter,
    ) -> Result<(Tensor<3>, ActivationCache)> {
        tokens.check(&self.cfg)?;
        if !interventions.is_empty() {
            let known = self.hook_points();
            if let Some(iv) = interventions.iter().find(|iv| !known.iter().any(|h| h.name() == iv.hook)) {
                return Err(Error::Hook(format!("no hook named {:?} in this model", iv.hook)));
            }
        }
        let device = self.embed.W_E.val().device();
        let mut ctx = HookContext::new(filter, interventions);
        let logits = self.forward_hooked(tokens.tensor(&device), &mut ctx);
        if let Some(e) = ctx.error {
            return Err(e);
        }
        Ok((logits, ctx.cache))
    }

    /// Every hook point of this model, in the order a forward pass fires them (the order of
    /// TL's `run_with_cache` dict), read off the module tree: no forward pass.
    pub fn hook_points(&self) -> Vec<&HookPoint> {
        let mut v = vec![];
        if self.cfg.use_hook_tokens {
            v.push(&self.hook_tokens);
        }
        v.extend([&self.hook_embed, &self.hook_pos_embed]);
        for b in &self.blocks {
            v.extend(b.hook_points());
        }
        if let Some(ln) = &self.ln_final {
            v.extend(ln.hook_points());
        }
        v.extend([&self.unembed.hook_in, &self.unembed.hook_out]);
        v
    }

    /// The names of `hook_points`, in the same order.
    pub fn hook_names(&self) -> Vec<String> {
        self.hook_points().into_iter().map(|h| h.name().to_string()).collect()
    }
}
