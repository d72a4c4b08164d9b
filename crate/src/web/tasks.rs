//! The five tasks for the page: vocabulary, config and recipe, examples and their labels.

use js_sys::{Int32Array, Object};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wasm_bindgen::prelude::*;

use super::{js_err, set, to_js};
use crate::model::Tokens;
use crate::tasks::{self, Batch, TASK_IDS};
use crate::train::recipe::{Recipe, Settings};
use crate::train::timeline::TimelinePlan;

/// `tasks::info` of a task id: every fact about the task a page shows.
#[wasm_bindgen]
pub fn task_info(id: &str) -> Result<JsValue, JsValue> {
    let task = tasks::by_id(id).map_err(js_err)?;
    to_js(&tasks::info::info(task.as_ref()).map_err(js_err)?)
}

/// The checkpoint steps of a page run of `total` steps (log-spaced, sized to the budget).
#[wasm_bindgen]
pub fn checkpoint_steps(id: &str, total: usize) -> Result<Vec<u32>, JsValue> {
    let task = tasks::by_id(id).map_err(js_err)?;
    Ok(TimelinePlan::new(&task.config(), false).steps(total).into_iter().map(|s| s as u32).collect())
}

#[wasm_bindgen]
pub fn task_ids() -> Vec<String> {
    TASK_IDS.iter().map(|s| s.to_string()).collect()
}

fn batch_obj(b: &Batch) -> JsValue {
    let o = Object::new();
    let shape = js_sys::Array::of2(&JsValue::from(b.tokens.batch as u32), &JsValue::from(b.tokens.pos as u32));
    set(&o, "shape", &shape);
    let ids: Vec<i32> = b.tokens.ids.iter().map(|&x| x as i32).collect();
    set(&o, "values", &Int32Array::from(&ids[..]).into());
    let t: Vec<i32> = b.targets.iter().map(|&x| x as i32).collect();
    set(&o, "targets", &Int32Array::from(&t[..]).into());
    o.into()
}

/// `n` examples drawn with `seed`: `{shape, values, targets}` (targets −1 where unscored).
#[wasm_bindgen]
pub fn task_sample(id: &str, seed: u64, n: usize) -> Result<JsValue, JsValue> {
    let task = tasks::by_id(id).map_err(js_err)?;
    let mut rng = StdRng::seed_from_u64(seed);
    Ok(batch_obj(&task.sample(&mut rng, n)))
}

/// The first `limit` examples of the task's fixed held-out set.
#[wasm_bindgen]
pub fn task_held_out(id: &str, limit: Option<usize>) -> Result<JsValue, JsValue> {
    let task = tasks::by_id(id).map_err(js_err)?;
    let b = task.held_out();
    let n = limit.unwrap_or(b.len()).min(b.len());
    Ok(batch_obj(&b.select(&(0..n).collect::<Vec<_>>())))
}

/// The task's labels for [batch, pos] tokens; a token that does not belong where it stands
/// is an error that says which and why.
#[wasm_bindgen]
pub fn task_label(id: &str, tokens: Vec<i32>, batch: usize, pos: usize) -> Result<Int32Array, JsValue> {
    let task = tasks::by_id(id).map_err(js_err)?;
    let toks = Tokens::new(batch, pos, tokens.into_iter().map(i64::from).collect()).map_err(js_err)?;
    toks.check(&task.config()).map_err(js_err)?;
    let t: Vec<i32> = task.label(&toks).map_err(js_err)?.into_iter().map(|x| x as i32).collect();
    Ok(Int32Array::from(&t[..]))
}

fn recipe_of(json: &str) -> Result<Recipe, JsValue> {
    serde_json::from_str(json).map_err(|e| js_err(crate::Error::Config(format!("recipe: {e}"))))
}

/// The recipe (JSON) with the reader's settings (`{seed, steps, lr, batch}`, each optional)
/// applied by `Recipe::with_settings`, as the CLI applies its flags: the page computes none
/// of it.
#[wasm_bindgen]
pub fn recipe_with_settings(recipe: &str, settings: &str) -> Result<JsValue, JsValue> {
    let s: Settings =
        serde_json::from_str(settings).map_err(|e| js_err(crate::Error::Config(format!("training settings: {e}"))))?;
    to_js(&recipe_of(recipe)?.with_settings(&s))
}

/// What a run of the recipe (JSON) does, for the page: `{settings, evaluations}` (its knobs,
/// and the steps after which it evaluates on the held-out set).
#[wasm_bindgen]
pub fn recipe_plan(recipe: &str) -> Result<JsValue, JsValue> {
    let r = recipe_of(recipe)?;
    let evaluations: Vec<usize> = (1..=r.steps).filter(|&s| r.evaluates_at(s)).collect();
    to_js(&serde_json::json!({ "settings": r.settings(), "evaluations": evaluations }))
}
