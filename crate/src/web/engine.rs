//! A loaded model on one backend: forward passes, activation caches, analyses and its weights.

use std::cell::RefCell;

use burn::tensor::Device;
use js_sys::Object;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{device_for, js_err, read_back, set, tensor_obj, weights_bytes};
use crate::analysis::request::{self, Process, Request};
use crate::analysis::run::RunCache;
use crate::error::Error;
use crate::model::params::StateDict;
use crate::model::{HookedTransformer, HookedTransformerConfig, NameFilter, Tokens};
use crate::tasks;
use crate::train::state;

#[wasm_bindgen]
pub struct Engine {
    backend: String,
    device: Device,
    model: Option<HookedTransformer>,
    /// The loaded weights on the host: analyses that process weights start from them.
    sd: Option<StateDict>,
    /// Processed models of the loaded weights, by (task, processing): an input edit re-runs
    /// analyses many times on one model, and rebuilding it each time was most of their cost.
    processed: RefCell<Vec<((String, Process), HookedTransformer)>>,
    /// The last cached run: the figures of one batch share its forward.
    runs: RefCell<RunCache>,
}

fn tokens_of(tokens: Vec<i32>, batch: usize, pos: usize) -> Result<Tokens, JsValue> {
    Tokens::new(batch, pos, tokens.into_iter().map(i64::from).collect()).map_err(js_err)
}

#[wasm_bindgen]
impl Engine {
    /// `backend`: "cpu" (burn's Flex) or "webgpu" (burn-wgpu on the browser's WebGPU).
    pub async fn create(backend: String) -> Result<Engine, JsValue> {
        let device = device_for(&backend).await?;
        Ok(Engine { backend, device, model: None, sd: None, processed: RefCell::default(), runs: RefCell::default() })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Loads a TL config (`to_dict()` JSON) and TL-named weights: safetensors, a PyTorch `.pt`
    /// state dict, or a toylens training state (its model part).
    pub fn load(&mut self, config_json: &str, weights: &[u8]) -> Result<(), JsValue> {
        let cfg = HookedTransformerConfig::from_json_str(config_json).map_err(js_err)?;
        let sd = state::weights_of(weights).map_err(js_err)?;
        self.model = Some(HookedTransformer::from_state_dict(&cfg, &sd, &self.device).map_err(js_err)?);
        self.sd = Some(sd);
        self.processed.borrow_mut().clear();
        self.runs.borrow_mut().clear();
        Ok(())
    }

    fn model(&self) -> Result<HookedTransformer, JsValue> {
        self.model.clone().ok_or_else(|| js_err(Error::Config("no model loaded".into())))
    }

    /// The loaded model's config, as TL's `to_dict()` JSON.
    pub fn config(&self) -> Result<String, JsValue> {
        Ok(self.model()?.cfg.to_json().to_string())
    }

    /// The loaded weights as TL-named f32 safetensors.
    pub fn weights(&self) -> js_sys::Promise {
        let model = self.model();
        future_to_promise(async move {
            let sd = model?.state_dict_async().await.map_err(js_err)?;
            Ok(weights_bytes(&sd)?.into())
        })
    }

    /// Logits for a [batch, pos] batch: `{shape, values}`.
    pub fn forward(&self, tokens: Vec<i32>, batch: usize, pos: usize) -> js_sys::Promise {
        self.run(tokens, batch, pos, None, false)
    }

    /// `{logits, cache: {hook name: {shape, values}}}`; `names` is a regex (all when absent).
    pub fn run_with_cache(&self, tokens: Vec<i32>, batch: usize, pos: usize, names: Option<String>) -> js_sys::Promise {
        self.run(tokens, batch, pos, names, true)
    }

    fn run(&self, tokens: Vec<i32>, batch: usize, pos: usize, names: Option<String>, cache: bool) -> js_sys::Promise {
        let model = self.model();
        future_to_promise(async move {
            let model = model?;
            let toks = tokens_of(tokens, batch, pos)?;
            let filter = match (cache, names) {
                (false, _) => NameFilter::None,
                (true, None) => NameFilter::All,
                (true, Some(r)) => NameFilter::regex(&r).map_err(js_err)?,
            };
            let (logits, acts) = model.run_with_cache(&toks, filter).map_err(js_err)?;
            let (shape, values) = read_back(logits).await.map_err(js_err)?;
            let logits = tensor_obj(&shape, &values);
            if !cache {
                return Ok(logits);
            }
            let c = Object::new();
            for (name, t) in &acts.map {
                let v = t.to_vec_async().await.map_err(js_err)?;
                set(&c, name, &tensor_obj(&t.shape, &v));
            }
            let o = Object::new();
            set(&o, "logits", &logits);
            set(&o, "cache", &c);
            Ok(o.into())
        })
    }

    /// Runs analysis `what` (see `toylens analyze --list`) for `task` on the loaded weights,
    /// exactly as `toylens analyze` does. `tokens` (with `batch`, `pos`) are labelled by the
    /// task; without them the task's held-out set is used. Without a task (a checkpoint from
    /// elsewhere) tokens are required and each position's target is the next token. `request` is JSON:
    /// `{process: "none"|"tl"|"notebook" (alias "cumsum"), limit, corrupted, opts: {layer, head, k, query, …}}`.
    /// Analyses read back synchronously, so they run on the CPU engine only.
    pub fn analyze(
        &self,
        task: Option<String>,
        what: &str,
        tokens: Option<Vec<i32>>,
        batch: usize,
        pos: usize,
        request: Option<String>,
    ) -> Result<String, JsValue> {
        if self.backend != "cpu" {
            return Err(js_err(Error::Backend("analyses run on the cpu engine (load the weights there)".into())));
        }
        let sd = self.sd.as_ref().ok_or_else(|| js_err(Error::Config("no model loaded".into())))?;
        let req: Request = match request.as_deref() {
            Some(r) if !r.trim().is_empty() => {
                serde_json::from_str(r).map_err(|e| js_err(Error::Config(format!("analysis request: {e}"))))?
            }
            _ => Request::default(),
        };
        let task = task.as_deref().filter(|t| !t.is_empty()).map(tasks::by_id).transpose().map_err(js_err)?;
        let task = task.as_deref();
        let cfg = &self.model.as_ref().ok_or_else(|| js_err(Error::Config("no model loaded".into())))?.cfg;
        let key = (task.map_or(String::new(), |t| t.id().to_string()), req.process);
        let cached = self.processed.borrow().iter().find(|(k, _)| *k == key).map(|(_, m)| m.clone());
        let model = match cached {
            Some(m) => m,
            None => {
                // Unprocessed, it is the model `load` built (its tensors shared, not copied:
                // building it again copied the weights twice, ~40 ms of addition's first read).
                let m = match req.process {
                    Process::None => self.model()?,
                    p => request::model(task, cfg, sd, p, &self.device).map_err(js_err)?,
                };
                self.processed.borrow_mut().push((key, m.clone()));
                m
            }
        };
        let toks = tokens.map(|t| tokens_of(t, batch, pos)).transpose()?;
        let out = request::run(task, &model, what, toks, &req, &mut self.runs.borrow_mut()).map_err(js_err)?;
        // As JSON text (the CLI's exact output), parsed by the worker: building the JS value
        // number by number through serde-wasm-bindgen took ~0.25 ms a value (10 s for min's
        // 201×200 full OV); JSON.parse takes milliseconds.
        serde_json::to_string(&out).map_err(|e| js_err(Error::Io(format!("analysis result: {e}"))))
    }
}
