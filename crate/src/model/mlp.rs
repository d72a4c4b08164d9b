//! TL's MLP: W_in, activation (hook_pre → hook_post; SoLU-LN adds hook_mid and an inner
//! LayerNorm `mlp.ln`), W_out.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::activation::{gelu_approximate, relu, silu};

use super::gelu::gelu;

use super::config::{ActFn, HookedTransformerConfig, Normalization};
use super::hooks::HookContext;
use super::layer_norm::LayerNorm;
use super::params::{Init, ParamSource};
use super::scope::{HookPoint, Scope};
use super::softmax::softmax;
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
    #[module(skip)]
    pub hook_pre: HookPoint,
    #[module(skip)]
    pub hook_mid: HookPoint,
    #[module(skip)]
    pub hook_post: HookPoint,
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
    pub fn new<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, scope: &Scope) -> Result<Self> {
        let (d, m) = (cfg.d_model, cfg.d_mlp.unwrap_or(4 * cfg.d_model));
        let std = cfg.initializer_range;
        let act = cfg.act_fn.unwrap_or(ActFn::Relu);
        let p = |n: &str| scope.name(n);
        let ln = if act == ActFn::SoluLn {
            Some(LayerNorm::new(src, &scope.pp("ln"), m, cfg.eps, cfg.normalization_type == Normalization::Ln)?)
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
            hook_pre: HookPoint::new(scope, "hook_pre"),
            hook_mid: HookPoint::new(scope, "hook_mid"),
            hook_post: HookPoint::new(scope, "hook_post"),
        })
    }

    /// Hook names in firing order.
    pub fn hook_points(&self) -> Vec<&HookPoint> {
        let mut v = vec![&self.hook_pre];
        if let Some(ln) = &self.ln {
            v.push(&self.hook_mid);
            v.extend(ln.hook_points());
        }
        v.push(&self.hook_post);
        v
    }

    pub fn forward(&self, x: Tensor<3>, ctx: &mut HookContext) -> Tensor<3> {
        let pre = ctx.hook(&self.hook_pre, self.pre(x));
        let post = match &self.ln {
            Some(ln) => {
                let mid = ctx.hook(&self.hook_mid, activate(self.act, pre));
                ln.forward(mid, ctx)
            }
            None => activate(self.act, pre),
        };
        let post = ctx.hook(&self.hook_post, post);
        self.out(post)
    }

    /// x·W_in + b_in, the pre-activation ([batch, pos, d_model] → [batch, pos, d_mlp]).
    pub fn pre(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, p, d] = x.dims();
        let m = self.b_in.val().dims()[0];
        (x.reshape([b * p, d]).matmul(self.W_in.val()) + self.b_in.val().reshape([1, m])).reshape([b, p, m])
    }

    /// post·W_out + b_out, the MLP's output ([batch, pos, d_mlp] → [batch, pos, d_model]).
    pub fn out(&self, post: Tensor<3>) -> Tensor<3> {
        let [b, p, m] = post.dims();
        let d = self.b_out.val().dims()[0];
        (post.reshape([b * p, m]).matmul(self.W_out.val()) + self.b_out.val().reshape([1, d])).reshape([b, p, d])
    }
}
