//! A TL config from a checkpoint's tensor names and shapes alone, for checkpoints that come
//! without their config JSON. The shapes fix the sizes (layers, d_model, heads, d_head, d_mlp,
//! vocabularies, n_ctx), attention-only or not, LayerNorm with weights or not; they cannot
//! tell the activation function, whether a weightless model normalised (LNPre) or not, the
//! attention scale, or which optional hooks the model was made with. Those come back as
//! `Assumed` fields, with the value taken, for the reader to confirm or change.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::config::HookedTransformerConfig;
use super::params::StateDict;
use crate::error::{Error, Result};

/// A config field the weights cannot tell, and the value taken for it.
#[derive(Clone, Debug, Serialize)]
pub struct Assumed {
    pub field: &'static str,
    pub value: Value,
    /// The values that would fit the weights as well.
    pub choices: Vec<Value>,
    pub why: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Inferred {
    #[serde(skip)]
    pub cfg: HookedTransformerConfig,
    /// TL `to_dict()` JSON.
    pub config: Value,
    pub assumed: Vec<Assumed>,
}

/// The shape of tensor `name`, if the checkpoint has it.
fn shape<'a>(sd: &'a StateDict, name: &str) -> Option<&'a [usize]> {
    sd.tensors.get(name).map(|(s, _)| s.as_slice())
}

fn dims<const N: usize>(sd: &StateDict, name: &str) -> Result<[usize; N]> {
    let s = shape(sd, name).ok_or_else(|| {
        Error::Weights(format!("no tensor {name}: not a TransformerLens HookedTransformer state dict"))
    })?;
    s.try_into().map_err(|_| Error::Weights(format!("tensor {name} has shape {s:?}, expected {N} dimensions")))
}

/// Infers the config of the TL state dict `sd`.
pub fn infer_config(sd: &StateDict) -> Result<Inferred> {
    let [d_vocab, d_model] = dims(sd, "embed.W_E")?;
    let [n_ctx, d_pos] = dims(sd, "pos_embed.W_pos")
        .map_err(|e| Error::Weights(format!("{e} (toylens runs standard learned positional embeddings only)")))?;
    let [d_u, d_vocab_out] = dims(sd, "unembed.W_U")?;
    let layers: BTreeSet<usize> =
        sd.tensors.keys().filter_map(|k| k.strip_prefix("blocks.")?.split('.').next()?.parse().ok()).collect();
    let n_layers = layers.len();
    if n_layers == 0 || layers.last() != Some(&(n_layers - 1)) {
        return Err(Error::Weights(format!("blocks are numbered {layers:?}: expected 0..n_layers")));
    }
    let [n_heads, d_q, d_head] = dims(sd, "blocks.0.attn.W_Q")?;
    for (name, d) in [("pos_embed.W_pos", d_pos), ("unembed.W_U", d_u), ("blocks.0.attn.W_Q", d_q)] {
        if d != d_model {
            return Err(Error::Weights(format!("{name} has d_model {d}, embed.W_E has {d_model}")));
        }
    }
    if shape(sd, "blocks.0.attn._W_K").is_some() {
        return Err(Error::Weights("grouped-query attention (_W_K) is not supported".into()));
    }
    let has = |n: &str| sd.tensors.contains_key(n);
    let attn_only = !has("blocks.0.mlp.W_in");
    let d_mlp = if attn_only { None } else { Some(dims::<2>(sd, "blocks.0.mlp.W_in")?[1]) };
    if has("blocks.0.mlp.W_gate") {
        return Err(Error::Weights("gated MLPs (W_gate) are not supported".into()));
    }
    let ln_weights = has("blocks.0.ln1.w") || has("ln_final.w");
    if ln_weights && !has("blocks.0.ln1.b") && !has("ln_final.b") {
        return Err(Error::Weights("RMSNorm (LayerNorm weights without biases) is not supported".into()));
    }

    let mut assumed = Vec::new();
    let mut assume = |field, value: Value, choices: Vec<Value>, why| {
        assumed.push(Assumed { field, value: value.clone(), choices, why });
        value
    };
    let normalization_type = if ln_weights {
        json!("LN")
    } else {
        assume(
            "normalization_type",
            Value::Null,
            vec![Value::Null, json!("LNPre")],
            "no LayerNorm weights: the model had none, or LayerNorm with its weights folded away (LNPre)",
        )
    };
    // Attention-only: TL's default stays (its to_dict() shows "relu"); nothing reads it.
    let act_fn = if attn_only {
        None
    } else if has("blocks.0.mlp.ln.w") {
        Some(json!("solu_ln"))
    } else {
        Some(assume(
            "act_fn",
            json!("gelu"),
            ["relu", "gelu", "gelu_new", "silu"].map(Value::from).to_vec(),
            "an activation function has no weights",
        ))
    };
    assume(
        "positional_embedding_type",
        json!("standard"),
        vec![json!("standard")],
        "a learned W_pos is standard; toylens runs no other kind",
    );
    let use_attn_scale = assume(
        "use_attn_scale",
        json!(true),
        vec![json!(true), json!(false)],
        "scores divided by √d_head (TL's default) or not: no weight says",
    );
    if ln_weights || normalization_type == json!("LNPre") {
        assume("eps", json!(1e-5), vec![], "LayerNorm's epsilon is not stored (TL's default)");
    }
    for (field, why) in [
        ("use_attn_result", "hooks per head's output (hook_result); the weights are the same either way"),
        ("use_split_qkv_input", "separate q/k/v inputs per head (hook_q_input…); the weights are the same"),
        ("use_hook_tokens", "a hook on the input tokens; no weights"),
    ] {
        assume(field, json!(false), vec![json!(false), json!(true)], why);
    }

    let mut m = Map::new();
    for (k, v) in [
        ("n_layers", json!(n_layers)),
        ("d_model", json!(d_model)),
        ("n_heads", json!(n_heads)),
        ("d_head", json!(d_head)),
        ("d_mlp", d_mlp.map_or(Value::Null, Value::from)),
        ("d_vocab", json!(d_vocab)),
        ("d_vocab_out", json!(d_vocab_out)),
        ("n_ctx", json!(n_ctx)),
        ("attn_only", json!(attn_only)),
        ("normalization_type", normalization_type),
        ("use_attn_scale", use_attn_scale),
    ] {
        m.insert(k.into(), v);
    }
    if let Some(a) = act_fn {
        m.insert("act_fn".into(), a);
    }
    for a in &assumed {
        m.entry(a.field.to_string()).or_insert_with(|| a.value.clone());
    }
    let cfg = HookedTransformerConfig::from_map(m)?;
    // The inferred config must account for every tensor: building the model checks that.
    super::HookedTransformer::from_state_dict(&cfg, sd, &burn::tensor::Device::flex())?;
    Ok(Inferred { config: cfg.to_json(), cfg, assumed })
}
