//! TL's LayerNorm (`LN`, learned `w`/`b`) and LayerNormPre (`LNPre`, none): centre, divide by
//! sqrt(mean(x²) + eps), hooked at `hook_scale` and `hook_normalized`
//! (before `w`, `b` are applied).

use burn::module::{Module, Param};
use burn::tensor::Tensor;

use super::hooks::HookContext;
use super::layer_norm_node::normalize;
use super::params::{Init, ParamSource};
use super::scope::{HookPoint, Scope};
use crate::error::Result;

#[derive(Module, Debug)]
pub struct LayerNorm {
    pub w: Option<Param<Tensor<1>>>,
    pub b: Option<Param<Tensor<1>>>,
    #[module(skip)]
    pub eps: f64,
    #[module(skip)]
    pub hook_scale: HookPoint,
    #[module(skip)]
    pub hook_normalized: HookPoint,
}

impl LayerNorm {
    /// `learned` = TL's `LN`; otherwise `LNPre`.
    pub fn new<S: ParamSource>(src: &mut S, scope: &Scope, d: usize, eps: f64, learned: bool) -> Result<Self> {
        let (w, b) = if learned {
            (Some(src.param(&scope.name("w"), [d], Init::Ones)?), Some(src.param(&scope.name("b"), [d], Init::Zeros)?))
        } else {
            (None, None)
        };
        Ok(Self {
            w,
            b,
            eps,
            hook_scale: HookPoint::new(scope, "hook_scale"),
            hook_normalized: HookPoint::new(scope, "hook_normalized"),
        })
    }

    /// Hook names in firing order.
    pub fn hook_points(&self) -> [&HookPoint; 2] {
        [&self.hook_scale, &self.hook_normalized]
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>, ctx: &mut HookContext) -> Tensor<D> {
        let x = if ctx.is_idle() {
            // Nothing watches the two hooks (training): one node, `layer_norm_node`.
            normalize(x, self.eps)
        } else {
            let x = x.clone() - x.mean_dim(D - 1);
            let scale = (x.clone().square().mean_dim(D - 1) + self.eps).sqrt();
            let scale = ctx.hook(&self.hook_scale, scale);
            // TL hooks the normalised value before the learned affine map.
            ctx.hook(&self.hook_normalized, x / scale)
        };
        match (&self.w, &self.b) {
            (Some(w), Some(b)) => {
                let d = x.dims()[D - 1];
                let mut shape = [1usize; D];
                shape[D - 1] = d;
                x * w.val().reshape(shape) + b.val().reshape(shape)
            }
            _ => x,
        }
    }
}
