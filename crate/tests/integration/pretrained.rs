//! The shipped models (`models/<task>/`, trained by our CLI) meet their notebooks' bars on
//! each task's held-out set, and carry their training timeline.

use std::path::PathBuf;

use burn::tensor::Device;
use toylens::io::read_state_dict_file;
use toylens::model::{HookedTransformer, HookedTransformerConfig};
use toylens::tasks::by_id;
use toylens::train::eval::evaluate;

fn load(task: &str) -> HookedTransformer {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(task);
    let cfg =
        HookedTransformerConfig::from_json_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let sd = read_state_dict_file(&dir.join("model.safetensors")).unwrap();
    let ckpts = std::fs::read_dir(dir.join("checkpoints")).unwrap().count();
    // About 20 log-spaced snapshots; fewer (f16) for addition's 3.2 M parameters.
    let want = if cfg.n_params() > 1_000_000 { 6 } else { 15 };
    assert!(ckpts >= want, "{task}: only {ckpts} checkpoints in its timeline");
    assert!(dir.join("metrics.jsonl").is_file(), "{task}: no metrics.jsonl");
    HookedTransformer::from_state_dict(&cfg, &sd, &Device::flex()).unwrap()
}

fn held_out(task: &str) -> (f32, f32, serde_json::Value) {
    let t = by_id(task).unwrap();
    let model = load(task);
    let r = evaluate(&*t, &model, &t.held_out()).unwrap();
    println!("{task}: held-out loss {:.4}, accuracy {:.4}", r.0, r.1);
    r
}

#[test]
fn cumsum_accuracy() {
    let (loss, acc, _) = held_out("cumsum");
    assert!(acc >= 0.99, "cumsum accuracy {acc}");
    assert!(loss < 0.1, "cumsum loss {loss} (the notebook's model: 0.073)");
}

#[test]
fn min_accuracy_and_ov_diagonal() {
    let (_, acc, _) = held_out("min");
    assert!(acc >= 0.99, "min test accuracy {acc}");
    let model = load("min");
    let full_ov = toylens::analysis::circuits::full_ov(&model, 0).unwrap();
    let d = toylens::analysis::ov_diag::ov_diag_top1(full_ov).unwrap();
    let frac = d.fraction.values[0];
    println!("min: full-OV diagonal top-1 fraction {frac:.4}");
    assert!(frac >= 0.99, "full-OV diagonal fraction {frac}");
}

#[test]
fn addition_loss() {
    let (loss, _, _) = held_out("addition");
    assert!(loss <= 0.06, "addition loss {loss} after 3000 steps");
}

#[test]
fn majority_accuracy() {
    let (_, acc, _) = held_out("majority");
    assert!(acc >= 0.99, "majority accuracy {acc}");
}

#[test]
fn sorting_sorted_half_accuracy() {
    let (_, acc, _) = held_out("sorting");
    assert!(acc >= 0.99, "sorting sorted-half accuracy {acc}");
}
