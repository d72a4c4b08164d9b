//! TL's `apply_ln_to_stack`: treat each stacked component as input to a layer's LayerNorm and
//! apply that LayerNorm's *cached* scale (centre, then divide), so components still sum to the
//! normalised stream. With `recompute`, at the unembed, each component goes through the final
//! LayerNorm on its own statistics instead (TL's logit-lens path, w and b included).

use super::run::CachedRun;
use super::stacks::Stack;
use crate::error::Result;
use crate::model::config::Normalization;
use crate::model::hooks::HookContext;

impl CachedRun {
    pub fn apply_ln_to_stack(
        &self,
        stack: Stack,
        layer: Option<usize>,
        mlp_input: bool,
        recompute: bool,
    ) -> Result<Stack> {
        let norm = self.cfg().normalization_type;
        if norm == Normalization::None {
            return Ok(stack);
        }
        let layer = self.resolve_layer(layer)?;
        let n = self.cfg().n_layers;
        if recompute
            && layer == n
            && let Some(ln) = &self.model.ln_final
        {
            let t = ln.forward(stack.t, &mut HookContext::silent());
            return Ok(Stack { t, ..stack });
        }
        let key = if layer == n {
            "ln_final.hook_scale".to_string()
        } else {
            format!("blocks.{layer}.ln{}.hook_scale", if mlp_input { 2 } else { 1 })
        };
        let scale = stack.positions.apply(self.act::<3>(&key)?, 1).unsqueeze_dim::<4>(0); // [1, b, p, 1]
        // Both LN and LNPre centre; the scale is shared by all components.
        let t = stack.t.clone() - stack.t.mean_dim(3);
        Ok(Stack { t: t / scale, ..stack })
    }
}
