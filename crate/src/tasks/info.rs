//! Every fact about a task that a page shows (vocabulary, config, recipe, held-out size,
//! parameter counts, the checkpoint plan), as one JSON object: the page's `task_info` and
//! the CLI's `analyze --many` (`{"op": "task_info"}`) both return it, so no page recomputes one.

use serde_json::{Value, json};

use super::Task;
use crate::error::{Error, Result};
use crate::train::timeline::TimelinePlan;

/// `{id, config, recipe, vocab, vocab_out, n_ctx, held_out, n_params, n_params_total, timeline}`.
pub fn info(task: &dyn Task) -> Result<Value> {
    let cfg = task.config();
    let recipe = serde_json::to_value(task.recipe()).map_err(|e| Error::Io(e.to_string()))?;
    Ok(json!({
        "id": task.id(),
        "config": cfg.to_json(),
        "recipe": recipe,
        "vocab": (0..cfg.d_vocab as i64).map(|i| task.token_str(i)).collect::<Vec<_>>(),
        "vocab_out": task.class_names(cfg.d_vocab_out),
        "n_ctx": cfg.n_ctx,
        "held_out": task.held_out().len(),
        // TL's `cfg.n_params` (hidden weight matrices only) and every allocated parameter.
        "n_params": cfg.n_params_tl(),
        "n_params_total": cfg.n_params(),
        "timeline": TimelinePlan::new(&cfg, false),
    }))
}
