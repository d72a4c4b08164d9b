//! `HookedTransformerConfig`, read from and written to the JSON that TransformerLens'
//! `HookedTransformerConfig.to_dict()` produces, so configs move both ways unchanged.

use serde_json::{Map, Value};

use crate::error::{Error, Result, human_bytes};

/// Activation functions TL supports that we implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActFn {
    Relu,
    Gelu,
    GeluNew,
    Silu,
    /// SoLU (x·softmax(x)) followed by a LayerNorm inside the MLP.
    SoluLn,
}

impl ActFn {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "relu" => Self::Relu,
            "gelu" => Self::Gelu,
            "gelu_new" => Self::GeluNew,
            "silu" => Self::Silu,
            "solu_ln" => Self::SoluLn,
            other => {
                return Err(Error::Config(format!(
                    "act_fn: unsupported value {other:?} (supported: relu, gelu, gelu_new, silu, solu_ln)"
                )));
            }
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Gelu => "gelu",
            Self::GeluNew => "gelu_new",
            Self::Silu => "silu",
            Self::SoluLn => "solu_ln",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    None,
    /// LayerNorm with learned weight and bias.
    Ln,
    /// LayerNorm without weight and bias (TL's folded form).
    LnPre,
}

impl Normalization {
    fn parse(v: &Value) -> Result<Self> {
        Ok(match v {
            Value::Null => Self::None,
            Value::String(s) if s == "LN" => Self::Ln,
            Value::String(s) if s == "LNPre" => Self::LnPre,
            other => {
                return Err(Error::Config(format!(
                    "normalization_type: unsupported value {other} (supported: null, \"LN\", \"LNPre\")"
                )));
            }
        })
    }
    fn to_json(self) -> Value {
        match self {
            Self::None => Value::Null,
            Self::Ln => Value::String("LN".into()),
            Self::LnPre => Value::String("LNPre".into()),
        }
    }
}

/// The fields the engine reads, typed; every other TL field is kept verbatim in `raw`
/// so that `to_json` writes back what was read.
#[derive(Clone, Debug)]
pub struct HookedTransformerConfig {
    pub n_layers: usize,
    pub d_model: usize,
    pub d_head: usize,
    pub n_heads: usize,
    /// `None` when `attn_only`.
    pub d_mlp: Option<usize>,
    pub d_vocab: usize,
    pub d_vocab_out: usize,
    pub n_ctx: usize,
    pub act_fn: Option<ActFn>,
    pub normalization_type: Normalization,
    pub attn_only: bool,
    pub use_attn_result: bool,
    pub use_split_qkv_input: bool,
    pub use_hook_tokens: bool,
    pub use_hook_mlp_in: bool,
    pub use_attn_in: bool,
    pub use_attn_scale: bool,
    /// The divisor of attention scores (TL's `attn_scale`, √d_head unless set).
    pub attn_scale: f64,
    pub eps: f64,
    pub initializer_range: f64,
    pub seed: Option<u64>,
    pub raw: Map<String, Value>,
}

/// TL's defaults for the fields we read; applied where the JSON omits them.
const TL_DEFAULTS: &str = include_str!("tl_defaults.json");

fn get_usize(m: &Map<String, Value>, k: &str) -> Result<Option<usize>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                // -1 is TL's "unset" (its defaults for n_heads, d_vocab, d_vocab_out).
                match i {
                    -1 => Ok(None),
                    i if i < 0 => Err(Error::Config(format!("{k}: must be a non-negative integer, found {i}"))),
                    i => Ok(Some(i as usize)),
                }
            } else {
                Err(Error::Config(format!("{k}: expected an integer, found {n}")))
            }
        }
        Some(other) => Err(Error::Config(format!("{k}: expected an integer, found {other}"))),
    }
}

fn get_bool(m: &Map<String, Value>, k: &str) -> Result<bool> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Error::Config(format!("{k}: expected true or false, found {other}"))),
    }
}

fn get_f64(m: &Map<String, Value>, k: &str) -> Result<Option<f64>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::Config(format!("{k}: expected a number, found {other}"))),
    }
}

fn require(v: Option<usize>, k: &str) -> Result<usize> {
    v.ok_or_else(|| Error::Config(format!("{k}: required and missing (or -1, TL's unset)")))
}

impl HookedTransformerConfig {
    pub fn from_json_str(s: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(s).map_err(|e| Error::Config(format!("config is not valid JSON: {e}")))?;
        match v {
            Value::Object(m) => Self::from_map(m),
            _ => Err(Error::Config("config must be a JSON object".into())),
        }
    }

    /// Builds a config from TL keyword arguments (or a full `to_dict()`), deriving what TL derives.
    pub fn from_map(user: Map<String, Value>) -> Result<Self> {
        let mut m: Map<String, Value> = serde_json::from_str(TL_DEFAULTS).expect("tl_defaults.json");
        for (k, v) in user {
            m.insert(k, v);
        }
        if let Some(p) = m.get("positional_embedding_type")
            && p.as_str() != Some("standard")
        {
            return Err(Error::Config(format!(
                "positional_embedding_type: unsupported value {p} (supported: \"standard\")"
            )));
        }
        for (k, unsupported_when_true) in [
            ("parallel_attn_mlp", true),
            ("gated_mlp", true),
            ("final_rms", true),
            ("use_local_attn", true),
            ("scale_attn_by_inverse_layer_idx", true),
            ("use_qk_norm", true),
            ("use_normalization_before_and_after", true),
            ("post_embedding_ln", true),
            ("uses_rms_norm", true),
            ("use_attention_sinks", true),
            ("use_logn_attn", true),
        ] {
            if unsupported_when_true && get_bool(&m, k)? {
                return Err(Error::Config(format!("{k}: true is not supported")));
            }
        }
        if let Some(n) = get_usize(&m, "n_key_value_heads")? {
            let heads = get_usize(&m, "n_heads")?;
            if Some(n) != heads {
                return Err(Error::Config("n_key_value_heads: grouped-query attention is not supported".into()));
            }
        }
        for k in ["attn_scores_soft_cap", "output_logits_soft_cap"] {
            if get_f64(&m, k)?.is_some_and(|v| v > 0.0) {
                return Err(Error::Config(format!("{k}: soft-capping is not supported")));
            }
        }
        for k in ["num_experts", "clip_qkv"] {
            if m.get(k).is_some_and(|v| !v.is_null()) {
                return Err(Error::Config(format!("{k}: is not supported")));
            }
        }
        if let Some(Value::String(a)) = m.get("attention_dir")
            && a != "causal"
        {
            return Err(Error::Config(format!("attention_dir: {a:?} is not supported (only \"causal\")")));
        }
        if let Some(Value::String(a)) = m.get("original_architecture") {
            return Err(Error::Config(format!(
                "original_architecture: pretrained architecture {a:?} is not supported"
            )));
        }

        let n_layers = require(get_usize(&m, "n_layers")?, "n_layers")?;
        if n_layers == 0 {
            return Err(Error::Config("n_layers: must be at least 1".into()));
        }
        let d_model = require(get_usize(&m, "d_model")?, "d_model")?;
        let n_ctx = require(get_usize(&m, "n_ctx")?, "n_ctx")?;
        let d_vocab = require(get_usize(&m, "d_vocab")?, "d_vocab")?;
        // TL: n_heads = d_model // d_head when n_heads == -1; d_head is required.
        let d_head = require(get_usize(&m, "d_head")?, "d_head")?;
        let n_heads = match get_usize(&m, "n_heads")? {
            Some(n) => n,
            None => d_model / d_head,
        };
        let attn_only = get_bool(&m, "attn_only")?;
        // TL fills d_mlp = 4·d_model even for attention-only models.
        let d_mlp = Some(get_usize(&m, "d_mlp")?.unwrap_or(4 * d_model));
        let act_fn = match m.get("act_fn") {
            None | Some(Value::Null) => {
                if attn_only {
                    None
                } else {
                    return Err(Error::Config("act_fn: required when attn_only is false".into()));
                }
            }
            Some(Value::String(s)) => Some(ActFn::parse(s)?),
            Some(other) => return Err(Error::Config(format!("act_fn: expected a string, found {other}"))),
        };
        let d_vocab_out = get_usize(&m, "d_vocab_out")?.unwrap_or(d_vocab);
        let normalization_type = Normalization::parse(m.get("normalization_type").unwrap_or(&Value::Null))?;
        let use_attn_scale = get_bool(&m, "use_attn_scale")?;
        // TL derives √d_head only when scaling is on; otherwise the stored value stays as given.
        let attn_scale = match get_f64(&m, "attn_scale")? {
            Some(s) if s > 0.0 => s,
            Some(s) if !use_attn_scale => s,
            _ => (d_head as f64).sqrt(),
        };
        let initializer_range = match get_f64(&m, "initializer_range")? {
            Some(r) if r > 0.0 => r,
            _ => 0.8 / (d_model as f64).sqrt(),
        };
        let eps = get_f64(&m, "eps")?.unwrap_or(1e-5);
        let seed = get_usize(&m, "seed")?.map(|s| s as u64);
        let cfg = Self {
            n_layers,
            d_model,
            d_head,
            n_heads,
            d_mlp,
            d_vocab,
            d_vocab_out,
            n_ctx,
            act_fn,
            normalization_type,
            attn_only,
            use_attn_result: get_bool(&m, "use_attn_result")?,
            use_split_qkv_input: get_bool(&m, "use_split_qkv_input")?,
            use_hook_tokens: get_bool(&m, "use_hook_tokens")?,
            use_hook_mlp_in: get_bool(&m, "use_hook_mlp_in")?,
            use_attn_in: get_bool(&m, "use_attn_in")?,
            use_attn_scale,
            attn_scale,
            eps,
            initializer_range,
            seed,
            raw: m,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        for (k, v) in [
            ("d_model", self.d_model),
            ("d_head", self.d_head),
            ("n_heads", self.n_heads),
            ("d_vocab", self.d_vocab),
            ("d_vocab_out", self.d_vocab_out),
            ("n_ctx", self.n_ctx),
        ] {
            if v == 0 {
                return Err(Error::Config(format!("{k}: must be positive")));
            }
        }
        if !self.attn_only && self.d_mlp == Some(0) {
            return Err(Error::Config("d_mlp: must be positive".into()));
        }
        if self.use_split_qkv_input && self.use_attn_in {
            return Err(Error::Config("use_attn_in: cannot be combined with use_split_qkv_input".into()));
        }
        // Keep a browser tab alive: refuse configs whose weights alone exceed 2 GiB of f32.
        const MAX_PARAMS: usize = 1 << 29;
        let n = self.n_params();
        if n > MAX_PARAMS {
            return Err(Error::Config(format!(
                "config too large: {n} parameters ({} of f32 weights); the limit is 512 M ({})",
                human_bytes(n.saturating_mul(4)),
                human_bytes(MAX_PARAMS * 4)
            )));
        }
        Ok(())
    }

    pub fn has_mlp(&self) -> bool {
        !self.attn_only
    }

    /// Total number of parameters, counted as TL's state_dict holds them.
    pub fn n_params(&self) -> usize {
        let (d, h, dh) = (self.d_model, self.n_heads, self.d_head);
        let mut n = self.d_vocab * d + self.n_ctx * d + d * self.d_vocab_out + self.d_vocab_out;
        let ln = if self.normalization_type == Normalization::Ln { 2 * d } else { 0 };
        let mut block = 4 * h * d * dh + 3 * h * dh + d + ln;
        if self.has_mlp() {
            let m = self.d_mlp.unwrap_or(0);
            block += 2 * d * m + m + d + ln;
            if self.act_fn == Some(ActFn::SoluLn) && self.normalization_type == Normalization::Ln {
                block += 2 * m;
            }
        }
        n += self.n_layers * block;
        if self.normalization_type == Normalization::Ln {
            n += 2 * d;
        }
        n
    }

    /// Back to TL's `to_dict()` shape: every field read is written, derived fields filled in.
    pub fn to_json(&self) -> Value {
        let mut m = self.raw.clone();
        let mut set = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        set("n_layers", self.n_layers.into());
        set("d_model", self.d_model.into());
        set("d_head", self.d_head.into());
        set("n_heads", self.n_heads.into());
        set("d_mlp", self.d_mlp.map(Value::from).unwrap_or(Value::Null));
        set("d_vocab", self.d_vocab.into());
        set("d_vocab_out", self.d_vocab_out.into());
        set("n_ctx", self.n_ctx.into());
        set("act_fn", self.act_fn.map(|a| Value::from(a.name())).unwrap_or(Value::Null));
        set("normalization_type", self.normalization_type.to_json());
        set("attn_only", self.attn_only.into());
        set("use_attn_result", self.use_attn_result.into());
        set("use_split_qkv_input", self.use_split_qkv_input.into());
        set("use_hook_tokens", self.use_hook_tokens.into());
        set("use_hook_mlp_in", self.use_hook_mlp_in.into());
        set("use_attn_in", self.use_attn_in.into());
        set("use_attn_scale", self.use_attn_scale.into());
        set("attn_scale", self.attn_scale.into());
        set("eps", self.eps.into());
        set("initializer_range", self.initializer_range.into());
        set("seed", self.seed.map(Value::from).unwrap_or(Value::Null));
        set("n_params", self.n_params_tl().into());
        Value::Object(m)
    }

    /// TL's `n_params` counts only the hidden weight matrices (not embeddings, biases or LN).
    pub fn n_params_tl(&self) -> usize {
        let mut per_layer = self.d_model * self.d_head * self.n_heads * 4;
        if self.has_mlp() {
            per_layer += self.d_model * self.d_mlp.unwrap_or(0) * 2;
        }
        self.n_layers * per_layer
    }

    /// The divisor applied to attention scores.
    pub fn effective_attn_scale(&self) -> f64 {
        if self.use_attn_scale { self.attn_scale } else { 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derives_as_tl_does() {
        let c = HookedTransformerConfig::from_map(
            json!({"n_layers": 1, "d_model": 64, "d_head": 32, "n_ctx": 10, "d_vocab": 7, "act_fn": "relu"})
                .as_object()
                .unwrap()
                .clone(),
        )
        .unwrap();
        assert_eq!(c.n_heads, 2);
        assert_eq!(c.d_mlp, Some(256));
        assert_eq!(c.to_json().as_object().unwrap().len(), 87, "TL's to_dict() has 87 keys");
        assert_eq!(c.d_vocab_out, 7);
        assert!((c.attn_scale - 32f64.sqrt()).abs() < 1e-12);
        assert!((c.initializer_range - 0.1).abs() < 1e-12);
        let back = HookedTransformerConfig::from_json_str(&c.to_json().to_string()).unwrap();
        assert_eq!(back.to_json(), c.to_json());
    }

    #[test]
    fn unsupported_fields_are_named() {
        let e = HookedTransformerConfig::from_json_str(
            r#"{"n_layers":1,"d_model":8,"d_head":4,"n_ctx":4,"d_vocab":3,"act_fn":"swish"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("act_fn"), "{e}");
        let e = HookedTransformerConfig::from_json_str(
            r#"{"n_layers":1,"d_model":8,"d_head":4,"n_ctx":4,"d_vocab":3,"attn_only":true,"positional_embedding_type":"rotary"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("positional_embedding_type"), "{e}");
    }
}
