//! TL's weight processing on a state dict (`ProcessWeights` in TL 3.9), which the notebooks
//! apply before analysing: fold LayerNorm weights and biases into the next linear maps (the
//! model becomes `LNPre`), centre the weights that write to the residual stream, centre the
//! unembedding, and fold the value biases into b_O. With LayerNorm these leave log-probs
//! unchanged; they make the weight views (full OV, DLA) read cleanly.
//!
//! `process_weights` is `load_and_process_state_dict`; the single steps are TL's methods of the
//! same names, applied unconditionally, as the cumsum notebook calls them on its no-LN model.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::HookedTransformerConfig;
use crate::model::config::{ActFn, Normalization};
use crate::model::params::StateDict;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processing {
    pub fold_ln: bool,
    pub center_writing_weights: bool,
    pub center_unembed: bool,
    pub fold_value_biases: bool,
}

impl Processing {
    /// `load_and_process_state_dict`'s defaults.
    pub const TL_DEFAULT: Self =
        Self { fold_ln: true, center_writing_weights: true, center_unembed: true, fold_value_biases: true };
}

/// A tensor taken out of the state dict for editing.
struct T {
    shape: Vec<usize>,
    v: Vec<f32>,
}

fn take(sd: &StateDict, name: &str) -> Result<T> {
    let (shape, v) = sd.tensors.get(name).ok_or_else(|| Error::Weights(format!("missing tensor {name}")))?;
    Ok(T { shape: shape.clone(), v: v.clone() })
}

fn put(sd: &mut StateDict, name: &str, t: T) {
    sd.tensors.insert(name.to_string(), (t.shape, t.v));
}

/// (outer, axis length, inner) strides for iterating over one axis.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// x − mean over `axis`.
fn center(t: &mut T, axis: usize) {
    let (o, n, i) = split(&t.shape, axis);
    for a in 0..o {
        for c in 0..i {
            let at = |k: usize| a * n * i + k * i + c;
            let mean = (0..n).map(|k| t.v[at(k)] as f64).sum::<f64>() / n as f64;
            for k in 0..n {
                t.v[at(k)] -= mean as f32;
            }
        }
    }
}

/// x · w broadcast along `axis` (w has that axis' length).
fn scale(t: &mut T, axis: usize, w: &[f32]) {
    let (o, n, i) = split(&t.shape, axis);
    for a in 0..o {
        for (k, wk) in w.iter().enumerate().take(n) {
            for c in 0..i {
                t.v[a * n * i + k * i + c] *= wk;
            }
        }
    }
}

/// Σ over `axis` of x · b (TL's `(W * b[..]).sum(axis)`), shape without that axis.
fn contract(t: &T, axis: usize, b: &[f32]) -> Vec<f32> {
    let (o, n, i) = split(&t.shape, axis);
    let mut out = vec![0f32; o * i];
    for a in 0..o {
        for c in 0..i {
            out[a * i + c] = (0..n).map(|k| t.v[a * n * i + k * i + c] as f64 * b[k] as f64).sum::<f64>() as f32;
        }
    }
    out
}

fn add(sd: &mut StateDict, name: &str, delta: &[f32]) -> Result<()> {
    let mut b = take(sd, name)?;
    if b.v.len() != delta.len() {
        return Err(Error::Weights(format!("{name}: cannot add {} values to shape {:?}", delta.len(), b.shape)));
    }
    b.v.iter_mut().zip(delta).for_each(|(x, d)| *x += d);
    put(sd, name, b);
    Ok(())
}

fn remove(sd: &mut StateDict, name: &str) -> Option<Vec<f32>> {
    sd.tensors.remove(name).map(|(_, v)| v)
}

/// Folds LayerNorm `w`, `b` (removed) into the weights reading from it, then centres those
/// weights over the normalised axis. Returns the `LNPre` config.
pub fn fold_layer_norm(cfg: &HookedTransformerConfig, sd: &mut StateDict) -> Result<HookedTransformerConfig> {
    for l in 0..cfg.n_layers {
        let p = |n: &str| format!("blocks.{l}.{n}");
        let (lw, lb) = (remove(sd, &p("ln1.w")), remove(sd, &p("ln1.b")));
        for x in ["Q", "K", "V"] {
            let mut w = take(sd, &p(&format!("attn.W_{x}")))?; // [h, d, e]
            if let Some(b) = &lb {
                add(sd, &p(&format!("attn.b_{x}")), &contract(&w, 1, b))?;
            }
            if let Some(s) = &lw {
                scale(&mut w, 1, s);
            }
            center(&mut w, 1);
            put(sd, &p(&format!("attn.W_{x}")), w);
        }
        if cfg.attn_only {
            continue;
        }
        let (lw, lb) = (remove(sd, &p("ln2.w")), remove(sd, &p("ln2.b")));
        let mut w_in = take(sd, &p("mlp.W_in"))?; // [d, m]
        if let Some(b) = &lb {
            add(sd, &p("mlp.b_in"), &contract(&w_in, 0, b))?;
        }
        if let Some(s) = &lw {
            scale(&mut w_in, 0, s);
        }
        center(&mut w_in, 0);
        put(sd, &p("mlp.W_in"), w_in);
        if cfg.act_fn == Some(ActFn::SoluLn) {
            let (mw, mb) = (remove(sd, &p("mlp.ln.w")), remove(sd, &p("mlp.ln.b")));
            if let (Some(mw), Some(mb)) = (mw, mb) {
                let mut w_out = take(sd, &p("mlp.W_out"))?; // [m, d]
                add(sd, &p("mlp.b_out"), &contract(&w_out, 0, &mb))?;
                scale(&mut w_out, 0, &mw);
                center(&mut w_out, 0);
                put(sd, &p("mlp.W_out"), w_out);
            }
        }
    }
    if let Some(w) = remove(sd, "ln_final.w") {
        let mut w_u = take(sd, "unembed.W_U")?; // [d, v]
        if let Some(b) = remove(sd, "ln_final.b") {
            add(sd, "unembed.b_U", &contract(&w_u, 0, &b))?;
        }
        scale(&mut w_u, 0, &w);
        center(&mut w_u, 0);
        put(sd, "unembed.W_U", w_u);
    }
    let mut out = cfg.clone();
    if out.normalization_type == Normalization::Ln {
        out.normalization_type = Normalization::LnPre;
    }
    Ok(out)
}

/// W_E, W_pos, W_O, W_out minus their mean over d_model; b_O, b_out minus their mean.
pub fn center_writing_weights(cfg: &HookedTransformerConfig, sd: &mut StateDict) -> Result<()> {
    let mut edit = |name: &str, axis: usize| -> Result<()> {
        let mut t = take(sd, name)?;
        center(&mut t, axis);
        put(sd, name, t);
        Ok(())
    };
    edit("embed.W_E", 1)?;
    edit("pos_embed.W_pos", 1)?;
    for l in 0..cfg.n_layers {
        edit(&format!("blocks.{l}.attn.W_O"), 2)?;
        edit(&format!("blocks.{l}.attn.b_O"), 0)?;
        if !cfg.attn_only {
            edit(&format!("blocks.{l}.mlp.W_out"), 1)?;
            edit(&format!("blocks.{l}.mlp.b_out"), 0)?;
        }
    }
    Ok(())
}

/// W_U minus its mean over the vocabulary; b_U minus its mean.
pub fn center_unembed(sd: &mut StateDict) -> Result<()> {
    for (name, axis) in [("unembed.W_U", 1), ("unembed.b_U", 0)] {
        let mut t = take(sd, name)?;
        center(&mut t, axis);
        put(sd, name, t);
    }
    Ok(())
}

/// b_O += Σ_heads b_V·W_O; b_V = 0.
pub fn fold_value_biases(cfg: &HookedTransformerConfig, sd: &mut StateDict) -> Result<()> {
    for l in 0..cfg.n_layers {
        let mut b_v = take(sd, &format!("blocks.{l}.attn.b_V"))?; // [h, e]
        let w_o = take(sd, &format!("blocks.{l}.attn.W_O"))?; // [h, e, d]
        let d = cfg.d_model;
        let delta: Vec<f32> = (0..d)
            .map(|c| (0..b_v.v.len()).map(|he| b_v.v[he] as f64 * w_o.v[he * d + c] as f64).sum::<f64>() as f32)
            .collect();
        add(sd, &format!("blocks.{l}.attn.b_O"), &delta)?;
        b_v.v.iter_mut().for_each(|x| *x = 0.0);
        put(sd, &format!("blocks.{l}.attn.b_V"), b_v);
    }
    Ok(())
}

/// TL's `load_and_process_state_dict` / `ProcessWeights.process_weights`: as TL, folding and
/// centring the writing weights happen only for LayerNorm models (`LN`, `LNPre`).
pub fn process_weights(
    cfg: &HookedTransformerConfig,
    sd: &StateDict,
    p: Processing,
) -> Result<(HookedTransformerConfig, StateDict)> {
    let mut sd = sd.clone();
    let has_ln = cfg.normalization_type != Normalization::None;
    // TL skips the fold when there is nothing to fold (an LNPre model saved already folded).
    let ln_weights = sd.tensors.keys().any(|k| k.ends_with(".ln1.w") || k.ends_with(".ln2.w") || k == "ln_final.w");
    let cfg = if p.fold_ln && has_ln && ln_weights { fold_layer_norm(cfg, &mut sd)? } else { cfg.clone() };
    if p.center_writing_weights && has_ln {
        center_writing_weights(&cfg, &mut sd)?;
    }
    if p.center_unembed {
        center_unembed(&mut sd)?;
    }
    if p.fold_value_biases {
        fold_value_biases(&cfg, &mut sd)?;
        if p.center_writing_weights && has_ln {
            for l in 0..cfg.n_layers {
                let name = format!("blocks.{l}.attn.b_O");
                let mut t = take(&sd, &name)?;
                center(&mut t, 0);
                put(&mut sd, &name, t);
            }
        }
    }
    Ok((cfg, sd))
}
