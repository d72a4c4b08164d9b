//! Attention patterns as the notebooks read them: whole patterns, the attention paid from one
//! query position (averaged over the batch in the min notebook's bar), and the min notebook's
//! grid of attention from `=` to a and to b over every (a, b) pair.

use burn::tensor::Tensor;

use super::labeled::{LabeledTensor, index_labels, to_vec};
use super::run::CachedRun;
use crate::error::{Error, Result};
use crate::model::{HookedTransformer, NameFilter, Tokens};

impl CachedRun {
    /// [batch, n_heads, query, key]
    pub fn pattern(&self, layer: usize) -> Result<Tensor<4>> {
        self.act::<4>(&format!("blocks.{layer}.attn.hook_pattern"))
    }

    /// Attention from query position `query` to every key: [batch, n_heads, key].
    pub fn attention_from(&self, layer: usize, query: usize) -> Result<Tensor<3>> {
        let p = self.pattern(layer)?;
        let [b, h, q, k] = p.dims();
        if query >= q {
            return Err(Error::Config(format!("query position {query} is outside 0..{q}")));
        }
        Ok(p.slice([0..b, 0..h, query..query + 1]).reshape([b, h, k]))
    }
}

impl CachedRun {
    /// How spread each head's attention is: the entropy of each query's pattern averaged over
    /// the batch, divided by its largest possible value ln(query + 1) (uniform over the keys a
    /// causal query sees), so 1 means uniform and 0 means one key. Query 0 sees one key: 1.
    /// [n_heads, query]
    pub fn attention_entropy(&self, layer: usize) -> Result<LabeledTensor> {
        let p = self.pattern(layer)?;
        let [_, h, q, k] = p.dims();
        // 0·ln 0 is 0: masked keys carry exactly zero attention.
        let plogp = p.clone() * p.clamp_min(1e-30).log();
        let entropy = to_vec(plogp.sum_dim(3).mean_dim(0).reshape([h, q]).neg())?;
        let offset = k - q; // keys a query sees beyond its own position (0 without a cache)
        let ratio = (0..h * q)
            .map(|i| {
                let max = ((i % q + offset + 1) as f32).ln();
                if max > 0.0 { entropy[i] / max } else { 1.0 }
            })
            .collect();
        Ok(LabeledTensor::new(vec![h, q], ratio, &["head", "query"]))
    }
}

/// Attention from the last position to each of the first two, over every sequence
/// `[a, b, eq_token]` with a, b in 0..n_values: [n_heads, 2 (to a, to b), a, b].
/// Runs in chunks so that large grids stay within memory (also in the browser).
pub fn pair_grid_attention(
    model: &HookedTransformer,
    n_values: usize,
    eq_token: i64,
    layer: usize,
) -> Result<LabeledTensor> {
    let h = model.cfg.n_heads;
    let pairs: Vec<(i64, i64)> = (0..n_values as i64).flat_map(|a| (0..n_values as i64).map(move |b| (a, b))).collect();
    let mut out = vec![0f32; h * 2 * pairs.len()];
    const CHUNK: usize = 4096;
    for (c, chunk) in pairs.chunks(CHUNK).enumerate() {
        let ids: Vec<i64> = chunk.iter().flat_map(|&(a, b)| [a, b, eq_token]).collect();
        let toks = Tokens::new(chunk.len(), 3, ids)?;
        let name = format!("blocks.{layer}.attn.hook_pattern");
        let filter = NameFilter::regex(&format!(r"^blocks\.{layer}\.attn\.hook_pattern$"))?;
        // Only the pattern: the forward stops there (no values, output, MLP or unembedding).
        let cache = model.run_until(&toks, filter, &name)?;
        let pat = cache
            .get(&name)
            .ok_or_else(|| Error::Hook(format!("layer {layer} has no attention pattern")))?
            .tensor::<4>()?;
        let n = chunk.len();
        // [n, h, 3, 3] → query 2, keys 0..2 → [h, 2, n]
        let v = to_vec(pat.slice([0..n, 0..h, 2..3, 0..2]).reshape([n, h, 2]).permute([1, 2, 0]))?;
        for hi in 0..h {
            for k in 0..2 {
                let dst = (hi * 2 + k) * pairs.len() + c * CHUNK;
                out[dst..dst + n].copy_from_slice(&v[(hi * 2 + k) * n..(hi * 2 + k + 1) * n]);
            }
        }
    }
    Ok(LabeledTensor::new(vec![h, 2, n_values, n_values], out, &["head", "key", "a", "b"])
        .label("head", (0..h).map(|i| format!("H{i}")).collect())
        .label("key", vec!["a".into(), "b".into()])
        .label("a", index_labels(n_values))
        .label("b", index_labels(n_values)))
}
