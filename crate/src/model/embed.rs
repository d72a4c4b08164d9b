//! Token and position embeddings and the unembedding, with TL's names and shapes.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor};

use super::hooks::HookContext;
use super::params::{Init, ParamSource};
use super::scope::{HookPoint, Scope};
use crate::error::Result;

#[allow(non_snake_case)]
#[derive(Module, Debug)]
pub struct Embed {
    /// [d_vocab, d_model]
    pub W_E: Param<Tensor<2>>,
}

impl Embed {
    pub fn new<S: ParamSource>(src: &mut S, d_vocab: usize, d_model: usize, std: f64) -> Result<Self> {
        Ok(Self { W_E: src.param("embed.W_E", [d_vocab, d_model], Init::Normal { std })? })
    }

    /// tokens [batch, pos] → [batch, pos, d_model]
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [b, p] = tokens.dims();
        let d = self.W_E.val().dims()[1];
        self.W_E.val().select(0, tokens.reshape([b * p])).reshape([b, p, d])
    }
}

#[allow(non_snake_case)]
#[derive(Module, Debug)]
pub struct PosEmbed {
    /// [n_ctx, d_model]
    pub W_pos: Param<Tensor<2>>,
}

impl PosEmbed {
    pub fn new<S: ParamSource>(src: &mut S, n_ctx: usize, d_model: usize, std: f64) -> Result<Self> {
        Ok(Self { W_pos: src.param("pos_embed.W_pos", [n_ctx, d_model], Init::Normal { std })? })
    }

    /// Broadcast over the batch, as TL's `PosEmbed` returns it: [batch, pos, d_model].
    pub fn forward(&self, batch: usize, pos: usize) -> Tensor<3> {
        let d = self.W_pos.val().dims()[1];
        self.W_pos.val().narrow(0, 0, pos).reshape([1, pos, d]).expand([batch, pos, d])
    }
}

#[allow(non_snake_case)]
#[derive(Module, Debug)]
pub struct Unembed {
    /// [d_model, d_vocab_out]
    pub W_U: Param<Tensor<2>>,
    /// [d_vocab_out]
    pub b_U: Param<Tensor<1>>,
    #[module(skip)]
    pub hook_in: HookPoint,
    #[module(skip)]
    pub hook_out: HookPoint,
}

impl Unembed {
    pub fn new<S: ParamSource>(src: &mut S, d_model: usize, d_vocab_out: usize, std: f64) -> Result<Self> {
        Ok(Self {
            W_U: src.param("unembed.W_U", [d_model, d_vocab_out], Init::Normal { std })?,
            b_U: src.param("unembed.b_U", [d_vocab_out], Init::Zeros)?,
            hook_in: HookPoint::new(&Scope::root().pp("unembed"), "hook_in"),
            hook_out: HookPoint::new(&Scope::root().pp("unembed"), "hook_out"),
        })
    }

    pub fn forward(&self, x: Tensor<3>, ctx: &mut HookContext) -> Tensor<3> {
        let x = ctx.hook(&self.hook_in, x);
        let [b, p, d] = x.dims();
        let v = self.b_U.val().dims()[0];
        let logits = (x.reshape([b * p, d]).matmul(self.W_U.val()) + self.b_U.val().reshape([1, v])).reshape([b, p, v]);
        ctx.hook(&self.hook_out, logits)
    }
}
