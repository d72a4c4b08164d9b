//! TL's MLP: W_in, activation (hook_pre → hook_post; SoLU-LN adds hook_mid and an inner
//! LayerNorm `mlp.ln`), W_out.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, gelu_approximate, relu, silu, softmax};

use super::config::{ActFn, HookedTransformerConfig, Normalization};
use super::hooks::HookContext;
use super::layer_norm::LayerNorm;
use super::params::{Init, ParamSource};
use crate::error::Result;

#[allow(non_snake_case)]
#[derive(Module, Debug)]
pub struct Mlp {
    /// [d_model, d_mlp]
    pub W_in: Param<Tensor<2>>,
    pub b_in: Param<Tensor<1>>,
    /// [d_mlp, d_model]
    pub W_out: Param<Tensor<2>>,
    pub b_out: Param<Tensor<1>>,
    /// Only for solu_ln.
    pub ln: Option<LayerNorm>,
    #[module(skip)]
    pub act: ActFn,
}

/// Activation functions exactly as TL computes them (gelu = exact erf form, gelu_new = tanh form).
pub fn activate<const D: usize>(act: ActFn, x: Tensor<D>) -> Tensor<D> {
    match act {
        ActFn::Relu => relu(x),
        ActFn::Gelu => gelu(x),
        ActFn::GeluNew => gelu_approximate(x),
        ActFn::Silu => silu(x),
        ActFn::SoluLn => x.clone() * softmax(x, D - 1),
    }
}

impl Mlp {
    pub fn new<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, l: usize) -> Result<Self> {
        let (d, m) = (cfg.d_model, cfg.d_mlp.unwrap_or(4 * cfg.d_model));
        let std = cfg.initializer_range;
        let act = cfg.act_fn.unwrap_or(ActFn::Relu);
        let p = |n: &str| format!("blocks.{l}.mlp.{n}");
        let ln = if act == ActFn::SoluLn {
            Some(LayerNorm::new(src, &p("ln"), m, cfg.eps, cfg.normalization_type == Normalization::Ln)?)
        } else {
            None
        };
        Ok(Self {
            W_in: src.param(&p("W_in"), [d, m], Init::Normal { std })?,
            b_in: src.param(&p("b_in"), [m], Init::Zeros)?,
            W_out: src.param(&p("W_out"), [m, d], Init::Normal { std })?,
            b_out: src.param(&p("b_out"), [d], Init::Zeros)?,
            ln,
            act,
        })
    }

    pub fn forward(&self, x: Tensor<3>, ctx: &mut HookContext, l: usize) -> Tensor<3> {
        let name = |n: &str| format!("blocks.{l}.mlp.{n}");
        let [b, p, d] = x.dims();
        let m = self.b_in.val().dims()[0];
        let pre = (x.reshape([b * p, d]).matmul(self.W_in.val()) + self.b_in.val().reshape([1, m])).reshape([b, p, m]);
        let pre = ctx.hook(&name("hook_pre"), pre);
        let post = match &self.ln {
            Some(ln) => {
                let mid = ctx.hook(&name("hook_mid"), activate(self.act, pre));
                ln.forward(mid, ctx, &name("ln"))
            }
            None => activate(self.act, pre),
        };
        let post = ctx.hook(&name("hook_post"), post);
        (post.reshape([b * p, m]).matmul(self.W_out.val()) + self.b_out.val().reshape([1, d])).reshape([b, p, d])
    }
}
