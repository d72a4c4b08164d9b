//! TL's residual-stream stacks from an `ActivationCache`: `decompose_resid`,
//! `accumulated_resid`, `stack_head_results`, `stack_neuron_results` and
//! `get_full_resid_decomposition`, with TL's component order and labels.
//! Every stack is [components, batch, pos, d_model].

use burn::tensor::Tensor;

use super::labeled::{LabeledTensor, index_labels};
use super::run::{CachedRun, Positions};
use super::weights;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Stack {
    /// [components, batch, pos, d]
    pub t: Tensor<4>,
    pub labels: Vec<String>,
    /// The positions the pos axis holds.
    pub positions: Positions,
}

impl Stack {
    fn from_parts(parts: Vec<Tensor<3>>, labels: Vec<String>, pos: &Positions) -> Result<Self> {
        if parts.is_empty() {
            return Err(Error::Config("the requested stack has no components".into()));
        }
        let parts = parts.into_iter().map(|p| pos.apply(p, 1)).collect();
        Ok(Self { t: Tensor::stack(parts, 0), labels, positions: pos.clone() })
    }

    /// Reads the stack back with its component and position labels; `last` names the last axis.
    pub fn read(self, last: &str) -> Result<LabeledTensor> {
        let n_pos = self.t.dims()[2];
        let pos = match &self.positions {
            Positions::All => index_labels(n_pos),
            Positions::Only(v) => v.iter().map(|p| p.to_string()).collect(),
        };
        Ok(LabeledTensor::read(self.t, &["component", "batch", "pos", last])?
            .label("component", self.labels)
            .label("pos", pos))
    }
}

/// Which layer outputs `decompose_resid` keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    All,
    Mlp,
    Attn,
}

impl CachedRun {
    /// Each head's output [batch, pos, n_heads, d_model]: `hook_result` when cached, otherwise
    /// z·W_O per head (TL's `compute_head_results`).
    pub fn head_results(&self, l: usize) -> Result<Tensor<4>> {
        let name = format!("blocks.{l}.attn.hook_result");
        if self.cache.get(&name).is_some() {
            return self.act::<4>(&name);
        }
        let z = self.act::<4>(&format!("blocks.{l}.attn.hook_z"))?; // [b, p, h, dh]
        let w_o = weights::w_o(&self.model, l)?; // [h, dh, d]
        let [h, dh, d] = w_o.dims();
        Ok(z.swap_dims(1, 2).matmul(w_o.reshape([1, h, dh, d])).swap_dims(1, 2))
    }

    /// TL's `decompose_resid`: embeddings, then each layer's attn_out and mlp_out before `layer`
    /// (`None` = all), plus this layer's attn_out when `mlp_input`.
    pub fn decompose_resid(
        &self,
        layer: Option<usize>,
        mlp_input: bool,
        mode: Mode,
        incl_embeds: bool,
        pos: &Positions,
    ) -> Result<Stack> {
        let layer = self.resolve_layer(layer)?;
        let incl_attn = mode != Mode::Mlp;
        let incl_mlp = mode != Mode::Attn && !self.cfg().attn_only;
        let (mut parts, mut labels) = (vec![], vec![]);
        if incl_embeds {
            parts.push(self.act::<3>("hook_embed")?);
            labels.push("embed".to_string());
            parts.push(self.act::<3>("hook_pos_embed")?);
            labels.push("pos_embed".to_string());
        }
        for l in 0..layer {
            if incl_attn {
                parts.push(self.act::<3>(&format!("blocks.{l}.hook_attn_out"))?);
                labels.push(format!("{l}_attn_out"));
            }
            if incl_mlp {
                parts.push(self.act::<3>(&format!("blocks.{l}.hook_mlp_out"))?);
                labels.push(format!("{l}_mlp_out"));
            }
        }
        if mlp_input && incl_attn {
            parts.push(self.act::<3>(&format!("blocks.{layer}.hook_attn_out"))?);
            labels.push(format!("{layer}_attn_out"));
        }
        Stack::from_parts(parts, labels, pos)
    }

    /// TL's `accumulated_resid`: resid_pre of each layer up to `layer` (`None` = through the
    /// final resid_post), with resid_mid when `incl_mid` (earlier layers) or `mlp_input` (this one).
    pub fn accumulated_resid(
        &self,
        layer: Option<usize>,
        incl_mid: bool,
        mlp_input: bool,
        pos: &Positions,
    ) -> Result<Stack> {
        let layer = self.resolve_layer(layer)?;
        let n = self.cfg().n_layers;
        let (mut parts, mut labels) = (vec![], vec![]);
        for l in 0..=layer {
            if l == n {
                parts.push(self.act::<3>(&format!("blocks.{}.hook_resid_post", n - 1))?);
                labels.push("final_post".to_string());
                continue;
            }
            parts.push(self.act::<3>(&format!("blocks.{l}.hook_resid_pre"))?);
            labels.push(format!("{l}_pre"));
            if (incl_mid && l < layer) || (mlp_input && l == layer) {
                parts.push(self.act::<3>(&format!("blocks.{l}.hook_resid_mid"))?);
                labels.push(format!("{l}_mid"));
            }
        }
        Stack::from_parts(parts, labels, pos)
    }

    /// TL's `stack_head_results`: every head's output in layers before `layer`, labelled `LlHh`,
    /// plus "remainder" (resid_post − Σ heads) when asked.
    pub fn stack_head_results(&self, layer: Option<usize>, incl_remainder: bool, pos: &Positions) -> Result<Stack> {
        let layer = self.resolve_layer(layer)?;
        if layer == 0 {
            return Err(Error::Config("there are no heads before layer 0".into()));
        }
        let h = self.cfg().n_heads;
        let mut per_layer = vec![];
        let mut labels = vec![];
        for l in 0..layer {
            per_layer.push(pos.apply(self.head_results(l)?, 1)); // [b, p, h, d]
            labels.extend((0..h).map(|i| format!("L{l}H{i}")));
        }
        let mut t = Tensor::cat(per_layer, 2).permute([2, 0, 1, 3]); // [L·h, b, p, d]
        if incl_remainder {
            let post = pos.apply(self.act::<3>(&format!("blocks.{}.hook_resid_post", layer - 1))?, 1);
            let rest = post - t.clone().sum_dim(0).squeeze_dim::<3>(0);
            t = Tensor::cat(vec![t, rest.unsqueeze_dim(0)], 0);
            labels.push("remainder".into());
        }
        Ok(Stack { t, labels, positions: pos.clone() })
    }

    /// TL's `get_neuron_results` for one layer: activation × W_out row, [b, p, neurons, d_model]
    /// (or [b, p, neurons, k] when projected onto `onto` [d_model, k] first, as TL's
    /// `project_output_onto`, which never forms the d_model-wide intermediate).
    fn neuron_results(
        &self,
        l: usize,
        neurons: Option<&[usize]>,
        pos: &Positions,
        onto: Option<&Tensor<2>>,
    ) -> Result<Tensor<4>> {
        let device = self.device();
        let mut acts = pos.apply(self.act::<3>(&format!("blocks.{l}.mlp.hook_post"))?, 1); // [b, p, m]
        let mut w_out = weights::w_out(&self.model, l)?; // [m, d]
        if let Some(n) = neurons {
            let idx = super::run::index_tensor(n, &device);
            acts = acts.select(2, idx.clone());
            w_out = w_out.select(0, idx);
        }
        let w = match onto {
            Some(p) => w_out.matmul(p.clone()),
            None => w_out,
        };
        let [m, k] = w.dims();
        let [b, p, _] = acts.dims();
        Ok(acts.reshape([b, p, m, 1]) * w.reshape([1, 1, m, k]))
    }

    /// TL's `stack_neuron_results`: every neuron's output in layers before `layer`, labelled
    /// `LlNn`, optionally a subset of neurons, projected onto `onto` and/or with "remainder".
    pub fn stack_neuron_results(
        &self,
        layer: Option<usize>,
        neurons: Option<&[usize]>,
        incl_remainder: bool,
        pos: &Positions,
        onto: Option<&Tensor<2>>,
    ) -> Result<Stack> {
        self.require_mlp()?;
        let layer = self.resolve_layer(layer)?;
        if layer == 0 {
            return Err(Error::Config("there are no neurons before layer 0".into()));
        }
        let d_mlp = self.cfg().d_mlp.unwrap_or(0);
        let ids: Vec<usize> = neurons.map(|n| n.to_vec()).unwrap_or_else(|| (0..d_mlp).collect());
        if let Some(&bad) = ids.iter().find(|&&i| i >= d_mlp) {
            return Err(Error::Config(format!("neuron {bad} is outside 0..{d_mlp}")));
        }
        let mut per_layer = vec![];
        let mut labels = vec![];
        for l in 0..layer {
            per_layer.push(self.neuron_results(l, Some(&ids), pos, onto)?);
            labels.extend(ids.iter().map(|n| format!("L{l}N{n}")));
        }
        let mut t = Tensor::cat(per_layer, 2).permute([2, 0, 1, 3]);
        if incl_remainder {
            let mut post = pos.apply(self.act::<3>(&format!("blocks.{}.hook_resid_post", layer - 1))?, 1);
            if let Some(p) = onto {
                let [b, q, d] = post.dims();
                let k = p.dims()[1];
                post = post.reshape([b * q, d]).matmul(p.clone()).reshape([b, q, k]);
            }
            let rest = post - t.clone().sum_dim(0).squeeze_dim::<3>(0);
            t = Tensor::cat(vec![t, rest.unsqueeze_dim(0)], 0);
            labels.push("remainder".into());
        }
        Ok(Stack { t, labels, positions: pos.clone() })
    }

    /// TL's `get_full_resid_decomposition` (no projection): head results, then neuron results
    /// (`expand_neurons`) or MLP outputs, embed, pos_embed and the accumulated bias.
    pub fn full_resid_decomposition(
        &self,
        layer: Option<usize>,
        mlp_input: bool,
        expand_neurons: bool,
        pos: &Positions,
    ) -> Result<Stack> {
        let layer = self.resolve_layer(layer)?;
        let embed = pos.apply(self.act::<3>("hook_embed")?, 1);
        let [b, p, d] = embed.dims();
        let (mut parts, mut labels) = (vec![], vec![]);
        if layer + mlp_input as usize > 0 {
            let heads = self.stack_head_results(Some(layer + mlp_input as usize), false, pos)?;
            parts.push(heads.t);
            labels = heads.labels;
        }
        if !self.cfg().attn_only && layer > 0 {
            let s = if expand_neurons {
                self.stack_neuron_results(Some(layer), None, false, pos, None)?
            } else {
                self.decompose_resid(Some(layer), mlp_input, Mode::Mlp, false, pos)?
            };
            parts.push(s.t);
            labels.extend(s.labels);
        }
        parts.push(embed.unsqueeze_dim(0));
        labels.push("embed".into());
        parts.push(pos.apply(self.act::<3>("hook_pos_embed")?, 1).unsqueeze_dim(0));
        labels.push("pos_embed".into());
        let bias = self.accumulated_bias(layer, mlp_input, expand_neurons)?;
        parts.push(bias.reshape([1, 1, 1, d]).expand([1, b, p, d]));
        labels.push("bias".into());
        Ok(Stack { t: Tensor::cat(parts, 0), labels, positions: pos.clone() })
    }

    /// TL's `accumulated_bias`: Σ b_O (and b_out) of the layers before `layer`, plus this
    /// layer's b_O when `mlp_input`.
    pub fn accumulated_bias(&self, layer: usize, mlp_input: bool, include_mlp_biases: bool) -> Result<Tensor<1>> {
        let d = self.cfg().d_model;
        let mut acc = Tensor::<1>::zeros([d], &self.device());
        for l in 0..layer {
            acc = acc + weights::b_o(&self.model, l)?;
            if include_mlp_biases && self.cfg().has_mlp() {
                acc = acc + weights::b_out(&self.model, l)?;
            }
        }
        if mlp_input {
            acc = acc + weights::b_o(&self.model, layer)?;
        }
        Ok(acc)
    }
}
