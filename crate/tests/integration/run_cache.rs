//! The kept runs of `RunCache`: a run of the first rows of a kept run, or one that extends a
//! kept run by more rows, holds the activations a fresh forward of those rows holds.

use crate::common::*;
use burn::tensor::Device;
use toylens::analysis::CachedRun;
use toylens::analysis::labeled::to_vec;
use toylens::analysis::run::RunCache;

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
        let half = runs.run("m", &f.model, &tokens.rows(0, b / 2)).unwrap();
        same_run(name, &half, &fresh(b / 2));
        let all = runs.run("m", &f.model, &tokens).unwrap();
        same_run(&format!("{name} extended"), &all, &fresh(b));
        // The first rows of the kept run, without a forward; another model's key misses.
        let few = runs.run("m", &f.model, &tokens.rows(0, 3)).unwrap();
        same_run(&format!("{name} first rows"), &few, &fresh(3));
        assert!(std::rc::Rc::ptr_eq(&runs.run("m", &f.model, &tokens).unwrap(), &all), "{name}: the whole run is kept");
        let other = runs.run("other", &f.model, &tokens.rows(0, 3)).unwrap();
        assert!(!std::rc::Rc::ptr_eq(&other, &few));
        // Two runs are kept: the whole batch is still there after a row of another key.
        assert!(std::rc::Rc::ptr_eq(&runs.run("m", &f.model, &tokens).unwrap(), &all), "{name}: two runs are kept");
    }
}
