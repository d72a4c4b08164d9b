//! The kept runs of `RunCache`: a run of the first rows of a kept run, or one that extends a
//! kept run by more rows, holds the activations a fresh forward of those rows holds. A run from
//! the first scored position holds the full run's values wherever it computes them, and the
//! analyses declared `scored` give the same results on it as on a full run.

use crate::common::*;
use burn::tensor::Device;
use toylens::analysis::CachedRun;
use toylens::analysis::catalog::{self, Analysis};
use toylens::analysis::labeled::to_vec;
use toylens::analysis::request::{self, Request};
use toylens::analysis::run::RunCache;
use toylens::model::CachedTensor;
use toylens::model::NameFilter;

fn same_run(name: &str, got: &CachedRun, want: &CachedRun) {
    assert_eq!(got.tokens, want.tokens, "{name}: tokens");
    let d = max_abs_diff(&to_vec(got.logits.clone()).unwrap(), &to_vec(want.logits.clone()).unwrap());
    assert!(d <= 1e-5, "{name}: logits differ by {d}");
    assert_eq!(got.cache.map.keys().collect::<Vec<_>>(), want.cache.map.keys().collect::<Vec<_>>(), "{name}: hooks");
    for (hook, w) in &want.cache.map {
        let g = &got.cache.map[hook];
        assert_eq!(g.shape, w.shape, "{name}: {hook} shape");
        let d = max_abs_diff(&g.to_vec().unwrap(), &w.to_vec().unwrap());
        assert!(d <= 1e-5, "{name}: {hook} differs by {d}");
    }
}

#[test]
fn kept_runs_serve_their_first_rows_and_grow_by_the_rows_they_lack() {
    let device = Device::flex();
    for name in ["addition", "majority"] {
        let f = load(name, &device);
        // Eight rows of the task's held-out set (the fixtures' own batches are 2 or 3 rows).
        let tokens = toylens::tasks::by_id(name).unwrap().held_out().tokens.rows(0, 8);
        let b = tokens.batch;
        let fresh = |n: usize| CachedRun::new(&f.model, &tokens.rows(0, n)).unwrap();
        let mut runs = RunCache::default();
        // A run of half the batch, then the whole: the second runs only the other half.
        let half = runs.run("m", &f.model, &tokens.rows(0, b / 2), 0).unwrap();
        same_run(name, &half, &fresh(b / 2));
        let all = runs.run("m", &f.model, &tokens, 0).unwrap();
        same_run(&format!("{name} extended"), &all, &fresh(b));
        // The first rows of the kept run, without a forward; another model's key misses.
        let few = runs.run("m", &f.model, &tokens.rows(0, 3), 0).unwrap();
        same_run(&format!("{name} first rows"), &few, &fresh(3));
        assert!(
            std::rc::Rc::ptr_eq(&runs.run("m", &f.model, &tokens, 0).unwrap(), &all),
            "{name}: the whole run is kept"
        );
        let other = runs.run("other", &f.model, &tokens.rows(0, 3), 0).unwrap();
        assert!(!std::rc::Rc::ptr_eq(&other, &few));
        // Two runs are kept: the whole batch is still there after a row of another key.
        assert!(std::rc::Rc::ptr_eq(&runs.run("m", &f.model, &tokens, 0).unwrap(), &all), "{name}: two runs are kept");
    }
}

#[test]
fn a_run_from_a_position_holds_the_full_runs_values_from_it_and_nan_before() {
    let device = Device::flex();
    for name in fixture_names() {
        let f = load(&name, &device);
        let p = f.tokens.pos;
        let first = p / 2;
        let (logits, full) = f.model.run_with_cache(&f.tokens, NameFilter::All).unwrap();
        let (tail_logits, tail) = f.model.run_with_cache_from(&f.tokens, NameFilter::All, first).unwrap();
        assert_eq!(tail.map.keys().collect::<Vec<_>>(), full.map.keys().collect::<Vec<_>>(), "{name}: hooks");
        let last = f.model.cfg.n_layers - 1;
        let has_mlp = f.model.hook_names().iter().any(|n| *n == format!("blocks.{last}.hook_resid_mid"));
        let z = f.model.hook_names().iter().position(|n| *n == format!("blocks.{last}.attn.hook_z"));
        // (A model keeping per-head results, hook_result, runs in full.)
        let z = z.filter(|_| has_mlp && !f.model.cfg.use_attn_result);
        let mut pairs =
            vec![("logits".to_string(), CachedTensor::from_tensor(logits), CachedTensor::from_tensor(tail_logits))];
        pairs.extend(full.map.iter().map(|(h, w)| (h.clone(), w.clone(), tail.map[h].clone())));
        for (hook, want, got) in pairs {
            assert_eq!(got.shape, want.shape, "{name}: {hook} shape");
            let at = f.model.hook_names().iter().position(|n| *n == hook).unwrap_or(usize::MAX);
            // Computed from `first` on when it follows the last block's z (a model with an MLP).
            let partial = z.is_some_and(|m| at > m);
            let (g, w) = (got.to_vec().unwrap(), want.to_vec().unwrap());
            let row: usize = want.shape[2..].iter().product();
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                let pos = (i / row) % p;
                if partial && pos < first {
                    assert!(a.is_nan(), "{name}: {hook} at position {pos} < {first} is {a}, not NaN");
                } else {
                    assert!(a == b || (a - b).abs() <= 1e-5 * b.abs().max(1.0), "{name}: {hook}[{i}] {a} against {b}");
                }
            }
        }
    }
}

/// Numbers within a relative 1e-5 (NaN, written null, only against null); the rest equal.
fn same_json(at: &str, got: &serde_json::Value, want: &serde_json::Value) {
    use serde_json::Value::*;
    match (got, want) {
        (Number(a), Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{at}: {a} against {b}");
        }
        (Array(a), Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same_json(&format!("{at}[{i}]"), x, y);
            }
        }
        (Object(a), Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{at}: keys");
            for (k, x) in a {
                same_json(&format!("{at}.{k}"), x, &b[k]);
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

#[test]
fn scored_analyses_read_the_same_from_a_run_from_the_first_scored_position() {
    let device = Device::flex();
    let f = load("addition", &device);
    let task = toylens::tasks::by_id("addition").unwrap();
    let scored: Vec<&'static Analysis> = catalog::all().filter(|a| a.scored_only).collect();
    assert!(scored.len() >= 5, "addition's page reads are declared scored");
    for a in scored {
        for ablation in ["zero", "mean"] {
            let req: Request =
                serde_json::from_value(serde_json::json!({ "limit": 16, "opts": { "ablation": ablation } })).unwrap();
            let inputs = request::inputs(Some(&*task), &f.model.cfg, a.name, None, &req).unwrap();
            let full: &'static Analysis = Box::leak(Box::new(Analysis { scored_only: false, ..*a }));
            let mut runs = RunCache::default();
            let got = catalog::run_row(a, &f.model, &inputs, &mut runs, "m").unwrap();
            let want = catalog::run_row(full, &f.model, &inputs, &mut runs, "m").unwrap();
            same_json(&format!("{} ({ablation})", a.name), &got, &want);
        }
    }
}
