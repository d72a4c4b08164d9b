//! TL's causal multi-head attention. Weights are per head ([n_heads, d_model, d_head]);
//! hooks at q, k, v, attn_scores (after the mask, before softmax), pattern, z and result.

use burn::module::{Module, Param};
use burn::tensor::{Bool, Tensor};

use super::config::HookedTransformerConfig;
use super::distinct_rows::matmul_distinct_rows;
use super::hooks::HookContext;
use super::params::{Init, ParamSource};
use super::scope::{HookPoint, Scope};
use super::softmax::softmax;
use crate::error::Result;

#[allow(non_snake_case)]
#[derive(Module, Debug)]
pub struct Attention {
    pub W_Q: Param<Tensor<3>>,
    pub W_K: Param<Tensor<3>>,
    pub W_V: Param<Tensor<3>>,
    /// [n_heads, d_head, d_model]
    pub W_O: Param<Tensor<3>>,
    pub b_Q: Param<Tensor<2>>,
    pub b_K: Param<Tensor<2>>,
    pub b_V: Param<Tensor<2>>,
    pub b_O: Param<Tensor<1>>,
    #[module(skip)]
    pub scale: f64,
    /// The score at masked (future) positions: TL's `IGNORE` buffer (−inf, or −1e5 in
    /// checkpoints of older TL, which TL then shows in `hook_attn_scores`).
    #[module(skip)]
    pub masked_score: f32,
    #[module(skip)]
    pub use_attn_result: bool,
    /// Its input depends on the token and position alone (the first block reads the
    /// embedding): q, k and v are computed once per distinct input row (see distinct_rows).
    #[module(skip)]
    pub reads_embedding: bool,
    #[module(skip)]
    pub hooks: AttnHooks,
}

/// The attention's hook points, named once from its scope.
#[derive(Clone, Debug)]
pub struct AttnHooks {
    pub q: HookPoint,
    pub k: HookPoint,
    pub v: HookPoint,
    pub attn_scores: HookPoint,
    pub pattern: HookPoint,
    pub z: HookPoint,
    pub result: HookPoint,
}

impl AttnHooks {
    fn new(s: &Scope) -> Self {
        let h = |n| HookPoint::new(s, n);
        Self {
            q: h("hook_q"),
            k: h("hook_k"),
            v: h("hook_v"),
            attn_scores: h("hook_attn_scores"),
            pattern: h("hook_pattern"),
            z: h("hook_z"),
            result: h("hook_result"),
        }
    }
}

/// Input to q/k/v: the shared residual [b, p, d] or one copy per head [b, p, h, d].
pub enum AttnInput {
    Shared(Tensor<3>),
    PerHead(Tensor<4>),
}

impl Attention {
    pub fn new<S: ParamSource>(src: &mut S, cfg: &HookedTransformerConfig, scope: &Scope) -> Result<Self> {
        let (h, d, dh) = (cfg.n_heads, cfg.d_model, cfg.d_head);
        let std = cfg.initializer_range;
        let p = |n: &str| scope.name(n);
        Ok(Self {
            W_Q: src.param(&p("W_Q"), [h, d, dh], Init::Normal { std })?,
            W_K: src.param(&p("W_K"), [h, d, dh], Init::Normal { std })?,
            W_V: src.param(&p("W_V"), [h, d, dh], Init::Normal { std })?,
            W_O: src.param(&p("W_O"), [h, dh, d], Init::Normal { std })?,
            b_Q: src.param(&p("b_Q"), [h, dh], Init::Zeros)?,
            b_K: src.param(&p("b_K"), [h, dh], Init::Zeros)?,
            b_V: src.param(&p("b_V"), [h, dh], Init::Zeros)?,
            b_O: src.param(&p("b_O"), [d], Init::Zeros)?,
            scale: cfg.effective_attn_scale(),
            masked_score: src.masked_score(&p("IGNORE"), &p("mask"), cfg.n_ctx)?,
            use_attn_result: cfg.use_attn_result,
            reads_embedding: false,
            hooks: AttnHooks::new(scope),
        })
    }

    /// x·W + b per head → [b, p, h, d_head].
    fn project(&self, input: &AttnInput, w: Tensor<3>, bias: Tensor<2>) -> Tensor<4> {
        let [h, d, dh] = w.dims();
        let out = match input {
            AttnInput::Shared(x) => {
                let [b, p, _] = x.dims();
                // One [b·p, d] × [d, h·dh] product: the same sum TL's simple_attn_linear computes.
                let w2 = w.swap_dims(0, 1).reshape([d, h * dh]);
                let x = x.clone().reshape([b * p, d]);
                let out = if self.reads_embedding { matmul_distinct_rows(x, w2) } else { x.matmul(w2) };
                out.reshape([b, p, h, dh])
            }
            AttnInput::PerHead(x) => {
                let [b, p, _, _] = x.dims();
                let xh = x.clone().swap_dims(1, 2); // [b, h, p, d]
                xh.matmul(w.reshape([1, h, d, dh])).swap_dims(1, 2).reshape([b, p, h, dh])
            }
        };
        out + bias.reshape([1, 1, h, dh])
    }

    /// Hook names in firing order.
    pub fn hook_points(&self) -> Vec<&HookPoint> {
        let h = &self.hooks;
        let mut v = vec![&h.q, &h.k, &h.v, &h.attn_scores, &h.pattern, &h.z];
        if self.use_attn_result {
            v.push(&h.result);
        }
        v
    }

    pub fn forward(&self, q_in: AttnInput, k_in: AttnInput, v_in: AttnInput, ctx: &mut HookContext) -> Tensor<3> {
        let hk = &self.hooks;
        let q = ctx.hook(&hk.q, self.project(&q_in, self.W_Q.val(), self.b_Q.val()));
        let k = ctx.hook(&hk.k, self.project(&k_in, self.W_K.val(), self.b_K.val()));
        let v = ctx.hook(&hk.v, self.project(&v_in, self.W_V.val(), self.b_V.val()));
        let [b, p, h, dh] = q.dims();
        let kp = k.dims()[1];
        let device = q.device();

        // TL divides the scores by attn_scale. Dividing q first is the same up to rounding and
        // touches dh values per query instead of kp: majority's 32 instead of 128 (a full pass
        // over its largest tensor, forward and backward, saved).
        let scale_q = self.scale != 1.0 && kp > dh;
        let q = if scale_q { q.div_scalar(self.scale) } else { q };
        let scores = q.swap_dims(1, 2).matmul(k.permute([0, 2, 3, 1])); // [b, h, q, k]
        let scores = if self.scale != 1.0 && !scale_q { scores.div_scalar(self.scale) } else { scores };
        // Keys after the query get TL's IGNORE value. For −inf one broadcast add of a [1, 1, q, k]
        // mask is cheaper (and cheaper to differentiate) than a full-size mask_fill; a finite
        // IGNORE (older TL) replaces the score, as TL's torch.where does.
        let mask = Tensor::<2, Bool>::tril_mask([p, kp], (kp - p) as i64, &device);
        let scores = if self.masked_score == f32::NEG_INFINITY {
            scores + Tensor::<2>::zeros([p, kp], &device).mask_fill(mask, f32::NEG_INFINITY).reshape([1, 1, p, kp])
        } else {
            scores.mask_fill(mask.reshape([1, 1, p, kp]).expand([b, h, p, kp]), self.masked_score)
        };
        let scores = ctx.hook(&hk.attn_scores, scores);
        let pattern = ctx.hook(&hk.pattern, softmax(scores, 3));
        if ctx.stopped {
            // run_until stopped at the scores or the pattern: the output is never read.
            return Tensor::zeros([b, p, self.b_O.val().dims()[0]], &device);
        }
        let z = pattern.matmul(v.swap_dims(1, 2)).swap_dims(1, 2); // [b, p, h, dh]
        let z = ctx.hook(&hk.z, z);
        let d = self.b_O.val().dims()[0];
        if ctx.stopped {
            // run_until stopped at z (a scored run projects it from its first position on).
            return Tensor::zeros([b, p, d], &device);
        }
        if self.use_attn_result {
            let result = z.swap_dims(1, 2).matmul(self.W_O.val().reshape([1, h, dh, d])).swap_dims(1, 2); // [b, p, h, d]
            let result = ctx.hook(&hk.result, result);
            result.sum_dim(2).reshape([b, p, d]) + self.b_O.val().reshape([1, 1, d])
        } else {
            self.output(z)
        }
    }

    /// The heads' outputs summed into the residual stream, z·W_O + b_O (without `hook_result`).
    ///
    /// # Shapes
    /// - z: [batch, pos, n_heads, d_head]; output: [batch, pos, d_model]
    pub fn output(&self, z: Tensor<4>) -> Tensor<3> {
        let [b, p, h, dh] = z.dims();
        let d = self.b_O.val().dims()[0];
        (z.reshape([b * p, h * dh]).matmul(self.W_O.val().reshape([h * dh, d])) + self.b_O.val().reshape([1, d]))
            .reshape([b, p, d])
    }
}
