//! The engine compiled to wasm32, run by wasm-bindgen-test in headless Chromium inside a
//! dedicated worker (where the site runs it), on the CPU (Flex) and WebGPU backends.
#![cfg(target_arch = "wasm32")]

use burn::tensor::Device;
use toylens::io::safetensors::{read_state_dict, read_tensors};
use toylens::io::tokens::from_safetensors;
use toylens::model::{HookedTransformer, HookedTransformerConfig, NameFilter};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

struct Fx {
    name: &'static str,
    config: &'static str,
    weights: &'static [u8],
    cache: &'static [u8],
}

macro_rules! fixture {
    ($n:literal) => {
        Fx {
            name: $n,
            config: include_str!(concat!("../../tests/fixtures/", $n, "/config.json")),
            weights: include_bytes!(concat!("../../tests/fixtures/", $n, "/weights.safetensors")),
            cache: include_bytes!(concat!("../../tests/fixtures/", $n, "/cache.safetensors")),
        }
    };
}

fn fixtures() -> Vec<Fx> {
    vec![fixture!("min"), fixture!("ln2_gelu"), fixture!("majority"), fixture!("cumsum")]
}

async fn check(device: &Device, backend: &str) {
    for fx in fixtures() {
        let cfg = HookedTransformerConfig::from_json_str(fx.config).unwrap();
        let model = HookedTransformer::from_state_dict(&cfg, &read_state_dict(fx.weights).unwrap(), device).unwrap();
        let tokens = from_safetensors(fx.cache).unwrap();
        let want = read_tensors(fx.cache).unwrap();
        let (logits, cache) = model.run_with_cache(&tokens, NameFilter::All).unwrap();
        let got = logits.into_data_async().await.unwrap().convert::<f32>().try_into_vec::<f32>().unwrap();
        let mut worst = max_abs_diff(&got, &want["logits"].to_f32());
        assert!(worst <= 1e-4, "{backend} {}: logits differ by {worst}", fx.name);
        for (hook, w) in &want {
            if hook == "logits" || hook == "tokens" {
                continue;
            }
            let ours = cache.get(hook).unwrap_or_else(|| panic!("{}: missing {hook}", fx.name));
            let d = max_abs_diff(&ours.to_vec_async().await.unwrap(), &w.to_f32());
            assert!(d <= 1e-4, "{backend} {}: {hook} differs by {d}", fx.name);
            worst = worst.max(d);
        }
        web_sys_log(&format!("PARITY ({backend}) {}: max|diff| {worst:.2e}", fx.name));
    }
}

fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| if x == y { 0.0 } else { (x - y).abs() }).fold(0.0, f32::max)
}

#[wasm_bindgen_test]
async fn cpu_backend_matches_transformer_lens() {
    check(&Device::flex(), "cpu").await;
}

#[wasm_bindgen_test]
async fn webgpu_backend_matches_transformer_lens() {
    // SwiftShader gives headless Chromium a real WebGPU adapter; no adapter is a failure.
    let device = Device::wgpu_options().init_async().await.expect("a WebGPU adapter");
    check(&device, "webgpu").await;
}

#[wasm_bindgen_test]
async fn engine_api_reports_bad_input_as_errors() {
    let mut e = toylens::web::Engine::create("cpu".into()).await.unwrap();
    let fx = fixture!("min");
    assert!(e.load(fx.config, b"definitely not safetensors").is_err());
    assert!(e.load("{not json", fx.weights).is_err());
    e.load(fx.config, fx.weights).unwrap();
    let r = wasm_bindgen_futures::JsFuture::from(e.forward(vec![0, 1, 999], 1, 3)).await;
    let msg = format!("{:?}", r.unwrap_err());
    assert!(msg.contains("out of vocabulary"), "{msg}");
    let ok = wasm_bindgen_futures::JsFuture::from(e.forward(vec![0, 1, 200], 1, 3)).await;
    assert!(ok.is_ok());
    assert!(toylens::web::Engine::create("tpu".into()).await.is_err());
}
