//! One TL TransformerBlock: resid_pre → (ln1) → attention → resid_mid → (ln2) → MLP → resid_post.

use burn::module::Module;
use burn::tensor::Tensor;

use super::attention::{AttnInput, Attention};
use super::config::{HookedTransformerConfig, Normalization};
use super::hooks::HookContext;
use super::layer_norm::LayerNorm;
use super::mlp::Mlp;
use super::params::ParamSource;
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
}

fn make_ln<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, name: &str) -> Result<Option<LayerNorm>> {
    Ok(match cfg.normalization_type {
        Normalization::None => None,
        Normalization::Ln => Some(LayerNorm::new(src, name, cfg.d_model, cfg.eps, true)?),
        Normalization::LnPre => Some(LayerNorm::new(src, name, cfg.d_model, cfg.eps, false)?),
    })
}

impl TransformerBlock {
    pub fn new<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, l: usize) -> Result<Self> {
        let ln1 = make_ln(src, cfg, &format!("blocks.{l}.ln1"))?;
        let attn = Attention::new(src, cfg, l)?;
        let (ln2, mlp) = if cfg.has_mlp() {
            (make_ln(src, cfg, &format!("blocks.{l}.ln2"))?, Some(Mlp::new(src, cfg, l)?))
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
        })
    }

    fn ln1_per_head(&self, x: Tensor<4>, ctx: &mut HookContext, l: usize) -> AttnInput {
        AttnInput::PerHead(match &self.ln1 {
            Some(ln) => ln.forward(x, ctx, &format!("blocks.{l}.ln1")),
            None => x,
        })
    }

    pub fn forward(&self, x: Tensor<3>, ctx: &mut HookContext, l: usize) -> Tensor<3> {
        let name = |n: &str| format!("blocks.{l}.{n}");
        let resid_pre = ctx.hook(&name("hook_resid_pre"), x);
        let [b, p, d] = resid_pre.dims();
        let h = self.attn.b_Q.val().dims()[0];
        let per_head = |x: &Tensor<3>| x.clone().reshape([b, p, 1, d]).expand([b, p, h, d]);
        let attn_out = if self.split_qkv {
            let q = ctx.hook(&name("hook_q_input"), per_head(&resid_pre));
            let k = ctx.hook(&name("hook_k_input"), per_head(&resid_pre));
            let v = ctx.hook(&name("hook_v_input"), per_head(&resid_pre));
            let (q, k, v) = (self.ln1_per_head(q, ctx, l), self.ln1_per_head(k, ctx, l), self.ln1_per_head(v, ctx, l));
            self.attn.forward(q, k, v, ctx, l)
        } else if self.attn_in {
            let a = ctx.hook(&name("hook_attn_in"), per_head(&resid_pre));
            let (q, k, v) = (self.ln1_per_head(a.clone(), ctx, l), self.ln1_per_head(a.clone(), ctx, l), self.ln1_per_head(a, ctx, l));
            self.attn.forward(q, k, v, ctx, l)
        } else {
            let normed = match &self.ln1 {
                Some(ln) => ln.forward(resid_pre.clone(), ctx, &name("ln1")),
                None => resid_pre.clone(),
            };
            self.attn.forward(
                AttnInput::Shared(normed.clone()),
                AttnInput::Shared(normed.clone()),
                AttnInput::Shared(normed),
                ctx,
                l,
            )
        };
        let attn_out = ctx.hook(&name("hook_attn_out"), attn_out);
        match &self.mlp {
            None => ctx.hook(&name("hook_resid_post"), resid_pre + attn_out),
            Some(mlp) => {
                let resid_mid = ctx.hook(&name("hook_resid_mid"), resid_pre + attn_out);
                let mlp_in = if self.hook_mlp_in { ctx.hook(&name("hook_mlp_in"), resid_mid.clone()) } else { resid_mid.clone() };
                let normed = match &self.ln2 {
                    Some(ln) => ln.forward(mlp_in, ctx, &name("ln2")),
                    None => mlp_in,
                };
                let mlp_out = mlp.forward(normed, ctx, l);
                let mlp_out = ctx.hook(&name("hook_mlp_out"), mlp_out);
                ctx.hook(&name("hook_resid_post"), resid_mid + mlp_out)
            }
        }
    }
}
