//! One TL TransformerBlock: resid_pre → (ln1) → attention → resid_mid → (ln2) → MLP → resid_post.

use burn::module::Module;
use burn::tensor::Tensor;

use super::attention::{Attention, AttnInput};
use super::config::{HookedTransformerConfig, Normalization};
use super::hooks::HookContext;
use super::layer_norm::LayerNorm;
use super::mlp::Mlp;
use super::params::ParamSource;
use super::scope::{HookPoint, Scope};
use crate::error::Result;

#[derive(Module, Debug)]
pub struct TransformerBlock {
    pub ln1: Option<LayerNorm>,
    pub attn: Attention,
    pub ln2: Option<LayerNorm>,
    pub mlp: Option<Mlp>,
    #[module(skip)]
    pub split_qkv: bool,
    #[module(skip)]
    pub attn_in: bool,
    #[module(skip)]
    pub hook_mlp_in: bool,
    #[module(skip)]
    pub hooks: BlockHooks,
}

/// The block's own hook points (its submodules hold theirs), named once from its scope.
#[derive(Clone, Debug)]
pub struct BlockHooks {
    pub resid_pre: HookPoint,
    pub q_input: HookPoint,
    pub k_input: HookPoint,
    pub v_input: HookPoint,
    pub attn_in: HookPoint,
    pub attn_out: HookPoint,
    pub resid_mid: HookPoint,
    pub mlp_in: HookPoint,
    pub mlp_out: HookPoint,
    pub resid_post: HookPoint,
}

impl BlockHooks {
    fn new(s: &Scope) -> Self {
        let h = |n| HookPoint::new(s, n);
        Self {
            resid_pre: h("hook_resid_pre"),
            q_input: h("hook_q_input"),
            k_input: h("hook_k_input"),
            v_input: h("hook_v_input"),
            attn_in: h("hook_attn_in"),
            attn_out: h("hook_attn_out"),
            resid_mid: h("hook_resid_mid"),
            mlp_in: h("hook_mlp_in"),
            mlp_out: h("hook_mlp_out"),
            resid_post: h("hook_resid_post"),
        }
    }
}

fn make_ln<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, scope: &Scope) -> Result<Option<LayerNorm>> {
    Ok(match cfg.normalization_type {
        Normalization::None => None,
        Normalization::Ln => Some(LayerNorm::new(src, scope, cfg.d_model, cfg.eps, true)?),
        Normalization::LnPre => Some(LayerNorm::new(src, scope, cfg.d_model, cfg.eps, false)?),
    })
}

impl TransformerBlock {
    /// `scope`: `blocks.L`.
    pub fn new<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, scope: &Scope) -> Result<Self> {
        let ln1 = make_ln(src, cfg, &scope.pp("ln1"))?;
        let attn = Attention::new(src, cfg, &scope.pp("attn"))?;
        let (ln2, mlp) = if cfg.has_mlp() {
            (make_ln(src, cfg, &scope.pp("ln2"))?, Some(Mlp::new(src, cfg, &scope.pp("mlp"))?))
        } else {
            (None, None)
        };
        Ok(Self {
            ln1,
            attn,
            ln2,
            mlp,
            split_qkv: cfg.use_split_qkv_input,
            attn_in: cfg.use_attn_in,
            hook_mlp_in: cfg.use_hook_mlp_in,
            hooks: BlockHooks::new(scope),
        })
    }

    /// Every hook name of the block, in the order a forward pass fires them (TL's cache order).
    pub fn hook_points(&self) -> Vec<&HookPoint> {
        let h = &self.hooks;
        let mut v = vec![&h.resid_pre];
        if self.split_qkv {
            v.extend([&h.q_input, &h.k_input, &h.v_input]);
        } else if self.attn_in {
            v.push(&h.attn_in);
        }
        v.extend(self.ln1.iter().flat_map(|l| l.hook_points()));
        v.extend(self.attn.hook_points());
        v.push(&h.attn_out);
        if let Some(mlp) = &self.mlp {
            v.push(&h.resid_mid);
            if self.hook_mlp_in {
                v.push(&h.mlp_in);
            }
            v.extend(self.ln2.iter().flat_map(|l| l.hook_points()));
            v.extend(mlp.hook_points());
            v.push(&h.mlp_out);
        }
        v.push(&h.resid_post);
        v
    }

    fn ln1_per_head(&self, x: Tensor<4>, ctx: &mut HookContext) -> AttnInput {
        AttnInput::PerHead(match &self.ln1 {
            Some(ln) => ln.forward(x, ctx),
            None => x,
        })
    }

    pub fn forward(&self, x: Tensor<3>, ctx: &mut HookContext) -> Tensor<3> {
        self.forward_from(x, 0, ctx)
    }

    /// The block's output at positions `first..` only, [batch, pos − first, d_model]: every
    /// position is still a key and a value, but only the later ones are queries and go through
    /// the MLP. The training path's last block, where earlier outputs would be thrown away
    /// (a causal model's later positions never reach earlier ones). `first` = 0 is `forward`.
    ///
    /// # Shapes
    /// - x: [batch, pos, d_model]
    /// - output: [batch, pos − first, d_model]
    pub fn forward_from(&self, x: Tensor<3>, first: usize, ctx: &mut HookContext) -> Tensor<3> {
        let hk = &self.hooks;
        let resid_pre = ctx.hook(&hk.resid_pre, x);
        let [b, _, d] = resid_pre.dims();
        let resid_q = from_position(resid_pre.clone(), first);
        let h = self.attn.b_Q.val().dims()[0];
        let per_head = |x: &Tensor<3>| {
            let n = x.dims()[1];
            x.clone().reshape([b, n, 1, d]).expand([b, n, h, d])
        };
        let attn_out = if self.split_qkv {
            let q = ctx.hook(&hk.q_input, per_head(&resid_q));
            let k = ctx.hook(&hk.k_input, per_head(&resid_pre));
            let v = ctx.hook(&hk.v_input, per_head(&resid_pre));
            let (q, k, v) = (self.ln1_per_head(q, ctx), self.ln1_per_head(k, ctx), self.ln1_per_head(v, ctx));
            self.attn.forward(q, k, v, ctx)
        } else if self.attn_in {
            let a = ctx.hook(&hk.attn_in, per_head(&resid_pre));
            let a_q = from_position(a.clone(), first);
            let (q, k, v) = (self.ln1_per_head(a_q, ctx), self.ln1_per_head(a.clone(), ctx), self.ln1_per_head(a, ctx));
            self.attn.forward(q, k, v, ctx)
        } else {
            let normed = match &self.ln1 {
                Some(ln) => ln.forward(resid_pre.clone(), ctx),
                None => resid_pre.clone(),
            };
            self.attn.forward(
                AttnInput::Shared(from_position(normed.clone(), first)),
                AttnInput::Shared(normed.clone()),
                AttnInput::Shared(normed),
                ctx,
            )
        };
        if ctx.stopped {
            return resid_q; // run_until stopped inside the attention: never read
        }
        let attn_out = ctx.hook(&hk.attn_out, attn_out);
        let resid_mid = match &self.mlp {
            None => resid_q + attn_out,
            Some(_) => ctx.hook(&hk.resid_mid, resid_q + attn_out),
        };
        if ctx.stopped {
            return resid_mid; // run_until stopped at resid_mid: the MLP is not run
        }
        self.after_attention(resid_mid, ctx)
    }

    /// The block's output from the residual stream after its attention (`hook_resid_mid`),
    /// per position: the MLP and its LayerNorm added (nothing without an MLP). What follows
    /// an intervention on the attention or the MLP of the last block, when the run before it
    /// is cached (analysis::fast_ablation).
    ///
    /// # Shapes
    /// - resid_mid: [batch, pos, d_model]; output: the same
    pub fn after_attention(&self, resid_mid: Tensor<3>, ctx: &mut HookContext) -> Tensor<3> {
        let hk = &self.hooks;
        match &self.mlp {
            None => ctx.hook(&hk.resid_post, resid_mid),
            Some(mlp) => {
                let mlp_in = if self.hook_mlp_in { ctx.hook(&hk.mlp_in, resid_mid.clone()) } else { resid_mid.clone() };
                let normed = match &self.ln2 {
                    Some(ln) => ln.forward(mlp_in, ctx),
                    None => mlp_in,
                };
                let mlp_out = mlp.forward(normed, ctx);
                let mlp_out = ctx.hook(&hk.mlp_out, mlp_out);
                ctx.hook(&hk.resid_post, resid_mid + mlp_out)
            }
        }
    }
}

/// Positions `first..` of `x` ([batch, pos, …]): the queries of `forward_from`.
fn from_position<const D: usize>(x: Tensor<D>, first: usize) -> Tensor<D> {
    if first == 0 {
        return x;
    }
    let p = x.dims()[1];
    x.narrow(1, first, p - first)
}
