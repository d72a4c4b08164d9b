//! Training against PyTorch: from the same initial weights and batches, the engine's loss,
//! every parameter's gradient and every weight after each Adam/AdamW step match the reference
//! runs `tests/fixtures/make_training_fixtures.py` recorded (LayerNorm + GELU under AdamW,
//! SoLU under Adam with coupled decay, attention-only with unscored positions and rows).
//! The tolerances are `train::replay::failures`', the same the browser's smoke page applies.

use burn::tensor::Device;
use toylens::train::block_on;
use toylens::train::replay::replay;

use crate::common::fixtures_dir;

#[test]
fn training_steps_match_pytorch() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("training/index.json")).unwrap()).unwrap();
    let names: Vec<String> =
        index["fixtures"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names.len(), 3, "three reference runs: {names:?}");
    for name in names {
        let dir = fixtures_dir().join("training").join(&name);
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        let text = |f: &str| String::from_utf8(read(f)).unwrap();
        let meta: serde_json::Value = serde_json::from_str(&text("meta.json")).unwrap();
        let r = block_on(replay(
            &text("config.json"),
            &read("init.safetensors"),
            &read("steps.safetensors"),
            &text("meta.json"),
            &Device::flex(),
            1.0,
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.steps.len(), 3);
        for s in &r.steps {
            assert_eq!(s.params.len(), meta["params"].as_array().unwrap().len(), "{name}: every trainable parameter");
            assert!(s.params.iter().any(|p| p.reference_grad > 1e-3), "{name}: the reference trains something");
        }
        assert!(r.failures.is_empty(), "{name}:\n{}", r.failures.join("\n"));
        let worst = |f: fn(&toylens::train::replay::ParamDiff) -> f32| {
            r.steps
                .iter()
                .flat_map(|s| s.params.iter().filter(|p| p.reference_grad >= 1e-7).map(f))
                .fold(0f32, f32::max)
        };
        eprintln!(
            "{name}: worst gradient diff {:.2e}, worst weight diff {:.2e}",
            worst(|p| p.grad),
            worst(|p| p.after)
        );
    }
}
