//! The wasm-bindgen API the browser's Web Worker uses. Every failure comes back as a JS
//! `Error` with a message; nothing panics into the page.

use std::cell::RefCell;

use burn::tensor::{Device, Tensor};
use js_sys::{Array, Float32Array, Int32Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::Error;
use crate::io::safetensors::{HostData, read_state_dict, read_tensors};
use crate::model::{HookedTransformer, HookedTransformerConfig, NameFilter, Tokens};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn js_err(e: Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

thread_local! {
    // burn's wgpu runtime is initialised once per page; later engines reuse the device.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

async fn webgpu_device() -> Result<Device, JsValue> {
    if let Some(d) = WEBGPU.with(|w| w.borrow().clone()) {
        return Ok(d);
    }
    let d = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| js_err(Error::Backend(format!("WebGPU unavailable: {e}"))))?;
    WEBGPU.with(|w| *w.borrow_mut() = Some(d.clone()));
    Ok(d)
}

fn set(o: &Object, k: &str, v: &JsValue) {
    // Reflect::set only fails on frozen objects; ours are fresh.
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn tensor_obj(shape: &[usize], values: &[f32]) -> JsValue {
    let o = Object::new();
    let s = Array::new();
    for &d in shape {
        s.push(&JsValue::from(d as u32));
    }
    set(&o, "shape", &s);
    set(&o, "values", &Float32Array::from(values).into());
    o.into()
}

async fn read_back<const D: usize>(t: Tensor<D>) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let shape = t.dims().to_vec();
    let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("reading back: {e:?}")))?;
    let v = data.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?;
    Ok((shape, v))
}

#[wasm_bindgen]
pub struct Engine {
    backend: String,
    device: Device,
    model: Option<HookedTransformer>,
}

#[wasm_bindgen]
impl Engine {
    /// `backend`: "cpu" (burn's Flex) or "webgpu" (burn-wgpu on the browser's WebGPU).
    pub async fn create(backend: String) -> Result<Engine, JsValue> {
        let device = match backend.as_str() {
            "cpu" => Device::flex(),
            "webgpu" => webgpu_device().await?,
            other => return Err(js_err(Error::Backend(format!("unknown backend {other:?} (cpu or webgpu)")))),
        };
        Ok(Engine { backend, device, model: None })
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Loads a TL config (`to_dict()` JSON) and TL-named safetensors weights.
    pub fn load(&mut self, config_json: &str, weights: &[u8]) -> Result<(), JsValue> {
        let cfg = HookedTransformerConfig::from_json_str(config_json).map_err(js_err)?;
        let sd = read_state_dict(weights).map_err(js_err)?;
        self.model = Some(HookedTransformer::from_state_dict(&cfg, &sd, &self.device).map_err(js_err)?);
        Ok(())
    }

    fn model(&self) -> Result<HookedTransformer, JsValue> {
        self.model.clone().ok_or_else(|| js_err(Error::Config("no model loaded".into())))
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
            let toks = Tokens::new(batch, pos, tokens.into_iter().map(i64::from).collect()).map_err(js_err)?;
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
}

/// Every tensor of a safetensors file: `{name: {shape, dtype, values}}` (ints as Int32Array).
#[wasm_bindgen]
pub fn read_safetensors(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let m = read_tensors(bytes).map_err(js_err)?;
    let o = Object::new();
    for (name, t) in m {
        let e = tensor_obj(&t.shape, &[]);
        let obj: Object = e.unchecked_into();
        set(&obj, "dtype", &JsValue::from_str(&t.dtype));
        let values: JsValue = match &t.data {
            HostData::F32(v) => Float32Array::from(&v[..]).into(),
            HostData::I64(v) => Int32Array::from(&v.iter().map(|&x| x as i32).collect::<Vec<_>>()[..]).into(),
        };
        set(&obj, "values", &values);
        set(&o, &name, &obj);
    }
    Ok(o.into())
}
