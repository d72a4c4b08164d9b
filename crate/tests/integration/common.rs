//! Shared by the integration tests: fixture loading and comparison.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use toylens::io::safetensors::{HostTensor, read_state_dict, read_tensors};
use toylens::io::tokens::from_safetensors;
use toylens::model::{HookedTransformer, HookedTransformerConfig, Tokens};

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn fixture_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("cache.safetensors").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub struct Fixture {
    pub name: String,
    pub cfg: HookedTransformerConfig,
    pub model: HookedTransformer,
    pub tokens: Tokens,
    pub expected: BTreeMap<String, HostTensor>,
}

pub fn load(name: &str, device: &burn::tensor::Device) -> Fixture {
    let dir = fixtures_dir().join(name);
    let cfg = HookedTransformerConfig::from_json_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let sd = read_state_dict(&std::fs::read(dir.join("weights.safetensors")).unwrap()).unwrap();
    let model = HookedTransformer::from_state_dict(&cfg, &sd, device).unwrap_or_else(|e| panic!("{name}: {e}"));
    let cache_bytes = std::fs::read(dir.join("cache.safetensors")).unwrap();
    let tokens = from_safetensors(&cache_bytes).unwrap();
    let expected = read_tensors(&cache_bytes).unwrap();
    Fixture { name: name.to_string(), cfg, model, tokens, expected }
}

/// Max |a - b|, where equal infinities (TL's masked scores are -inf) count as equal.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| if x == y { 0.0 } else { (x - y).abs() })
        .fold(0.0f32, |m, d| if d.is_nan() || m.is_nan() { f32::NAN } else { m.max(d) })
}
