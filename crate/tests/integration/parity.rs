//! Parity with TransformerLens: logits (with and without hooks) and every cached activation of
//! each fixture, computed by the real Python package (tests/fixtures/make_fixtures.py), within
//! 1e-4.

use crate::common::*;
use burn::tensor::Device;
use toylens::model::NameFilter;

const TOL: f32 = 1e-4;

#[test]
fn every_fixture_matches_transformer_lens() {
    let device = Device::flex();
    let names = fixture_names();
    assert!(names.len() >= 6, "expected the six notebook fixtures, found {names:?}");
    let mut report = vec![];
    for name in &names {
        let f = load(name, &device);
        let (logits, cache) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
        let mut worst = ("logits".to_string(), 0f32);
        let want = &f.expected["logits"];
        assert_eq!(logits.dims().to_vec(), want.shape, "{name}: logits shape");
        let got = logits.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let d = max_abs_diff(&got, &want.to_f32());
        assert!(d <= TOL, "{name}: logits differ by {d}");
        let logits_diff = d;
        // The training path too: with no hook watched, LayerNorm runs as one fused node.
        let fast = f.model.forward(f.tokens.tensor(&device));
        let d = max_abs_diff(&fast.into_data().convert::<f32>().try_into_vec::<f32>().unwrap(), &want.to_f32());
        assert!(d <= TOL, "{name}: logits without hooks differ by {d}");
        for (hook, want) in &f.expected {
            if hook == "logits" || hook == "tokens" {
                continue;
            }
            let ours = cache.get(hook).unwrap_or_else(|| panic!("{name}: we do not cache {hook}"));
            assert_eq!(ours.shape, want.shape, "{name}: shape of {hook}");
            let d = max_abs_diff(&ours.to_vec().unwrap(), &want.to_f32());
            assert!(d <= TOL, "{name}: {hook} differs by {d}");
            if d > worst.1 {
                worst = (hook.clone(), d);
            }
        }
        // And nothing TL would not have cached.
        for hook in cache.names() {
            assert!(f.expected.contains_key(hook), "{name}: we cache {hook}, TL does not");
        }
        report.push(format!(
            "{name}: {} activations, logits max|diff| {logits_diff:.2e}, worst activation {} {:.2e}",
            cache.len(),
            worst.0,
            worst.1
        ));
    }
    println!("PARITY (flex)\n{}", report.join("\n"));
}

#[test]
fn name_filter_keeps_only_matching_hooks() {
    let device = Device::flex();
    let f = load("ln2_gelu", &device);
    let (_, cache) = f.model.run_with_cache(&f.tokens, NameFilter::regex(r"hook_pattern$").unwrap()).unwrap();
    let names: Vec<&String> = cache.names().collect();
    assert_eq!(names, vec!["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]);
}

/// Facts the pages print come from the engine: each must equal what TransformerLens says for
/// every fixture config (parameter counts; hook names in the order TL's hooks fire).
#[test]
fn parameter_counts_and_hook_order_match_transformer_lens() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("index.json")).unwrap()).unwrap();
    let device = Device::flex();
    let fixtures = index["fixtures"].as_array().unwrap();
    assert!(fixtures.len() >= 6);
    for f in fixtures {
        let name = f["name"].as_str().unwrap();
        let fx = load(name, &device);
        assert_eq!(fx.cfg.n_params(), f["n_params"].as_u64().unwrap() as usize, "{name}: every parameter");
        assert_eq!(fx.cfg.n_params_tl(), f["cfg_n_params"].as_u64().unwrap() as usize, "{name}: TL's cfg.n_params");
        let want: Vec<String> =
            f["cache_names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        assert_eq!(fx.model.hook_names(), want, "{name}: hook names in TL's firing order");
    }
}
