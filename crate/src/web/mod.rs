//! The wasm-bindgen API the browser's Web Worker uses. Every failure comes back as a JS
//! `Error` with a message; nothing panics into the page.

use burn::tensor::{Device, Tensor};
use js_sys::{Array, Float32Array, Int32Array, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::io::safetensors::{HostData, named_tensors, read_tensors, write_tensors};
use crate::model::NamedTensor;

mod engine;
mod run;
mod tasks;

pub use engine::Engine;
pub use run::TrainingRun;

#[wasm_bindgen]
extern "C" {
    // The worker's panic reporter (www/engine/instances.js), if it installed one: a panic traps
    // the instance, and the trap itself carries no message, so the hook hands it over first.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __toylensPanic, catch)]
    fn report_panic(message: &str) -> Result<(), JsValue>;
}

#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // Not installed (a page using the package directly): the console has the message.
        let _ = report_panic(&info.to_string());
    }));
}

/// Panics with `message`: the worker's `debug_panic` op (tests only) calls it to prove a
/// panic is reported and the engine restarted.
#[wasm_bindgen]
pub fn debug_panic(message: &str) {
    panic!("{message}");
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// An engine error for JS: an `Error` with the message and, as `kind`, `Error::kind` (the
/// worker replies with it as `code`, which the page switches on).
pub(crate) fn js_err(e: Error) -> JsValue {
    let err: JsValue = JsError::new(&e.to_string()).into();
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("kind"), &JsValue::from_str(e.kind()));
    err
}

#[cfg(feature = "webgpu")]
thread_local! {
    // burn's wgpu runtime is initialised once per page; later engines reuse the device.
    static WEBGPU: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

#[cfg(feature = "webgpu")]
pub(crate) async fn webgpu_device() -> Result<Device, JsValue> {
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

/// The CPU-only engine has no WebGPU backend (the worker asks the full engine for it; this
/// answers a caller that asks this one anyway).
#[cfg(not(feature = "webgpu"))]
pub(crate) async fn webgpu_device() -> Result<Device, JsValue> {
    Err(js_err(Error::Backend("WebGPU is in the full engine (pkg/toylens.js), not the CPU-only one".into())))
}

pub(crate) fn set(o: &Object, k: &str, v: &JsValue) {
    // Reflect::set only fails on frozen objects; ours are fresh.
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

pub(crate) fn tensor_obj(shape: &[usize], values: &[f32]) -> JsValue {
    let o = Object::new();
    let s = Array::new();
    for &d in shape {
        s.push(&JsValue::from(d as u32));
    }
    set(&o, "shape", &s);
    set(&o, "values", &Float32Array::from(values).into());
    o.into()
}

pub(crate) async fn read_back<const D: usize>(t: Tensor<D>) -> Result<(Vec<usize>, Vec<f32>), Error> {
    let shape = t.dims().to_vec();
    let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("reading back: {e:?}")))?;
    let v = data.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?;
    Ok((shape, v))
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

/// The TL config a checkpoint's tensor names and shapes imply (safetensors or `.pt` bytes):
/// `{config, assumed: [{field, value, choices, why}]}` — the fields the weights cannot tell,
/// for the reader to confirm.
#[wasm_bindgen]
pub fn infer_config(weights: &[u8]) -> Result<JsValue, JsValue> {
    let sd = crate::train::state::weights_of(weights).map_err(js_err)?;
    to_js(&crate::model::infer::infer_config(&sd).map_err(js_err)?)
}

/// A serde value as a plain JS object (maps become objects, not `Map`s).
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_err(Error::Io(format!("converting the result for JS: {e}"))))
}

/// The device for a backend name.
pub(crate) async fn device_for(backend: &str) -> Result<Device, JsValue> {
    match backend {
        "cpu" => Ok(Device::flex()),
        "webgpu" => webgpu_device().await,
        other => Err(js_err(Error::Backend(format!("unknown backend {other:?} (cpu or webgpu)")))),
    }
}

/// TL-named f32 safetensors bytes of a model's parameters.
pub(crate) fn weights_bytes(sd: &[NamedTensor]) -> Result<Uint8Array, JsValue> {
    let bytes = write_tensors(&named_tensors(sd, false)).map_err(js_err)?;
    Ok(Uint8Array::from(&bytes[..]))
}
