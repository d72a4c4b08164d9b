//! The task contract, checked the same way for all five: shapes, ranges, the labeller's consent,
//! `select`, recipes and token strings.

use std::collections::HashSet;

use rand::SeedableRng;
use rand::rngs::StdRng;
use toylens::model::Tokens;
use toylens::tasks::{Batch, IGNORE, TASK_IDS, Task, TrainData, by_id};

fn check_batch(task: &dyn Task, b: &Batch, what: &str) {
    let cfg = task.config();
    let id = task.id();
    assert!(!b.is_empty(), "{id} {what}: empty");
    assert!(b.tokens.pos <= cfg.n_ctx, "{id} {what}: {} positions > n_ctx {}", b.tokens.pos, cfg.n_ctx);
    assert_eq!(b.tokens.ids.len(), b.len() * b.tokens.pos, "{id} {what}: ids");
    assert_eq!(b.targets.len(), b.tokens.ids.len(), "{id} {what}: targets");
    assert!(b.tokens.ids.iter().all(|&t| (0..cfg.d_vocab as i64).contains(&t)), "{id} {what}: token out of vocab");
    assert!(
        b.targets.iter().all(|&t| t == IGNORE || (0..cfg.d_vocab_out as i64).contains(&t)),
        "{id} {what}: target out of d_vocab_out"
    );
    // Every row has something to score.
    for row in b.targets.chunks(b.tokens.pos) {
        assert!(row.iter().any(|&t| t != IGNORE), "{id} {what}: a row with no scored position");
    }
    assert!(b.tokens.check(&cfg).is_ok(), "{id} {what}: tokens rejected by the model");
    // The labeller takes what the task generates (its labels are checked against a brute force
    // in each task's own tests: comparing them with the generator's, which share its code,
    // would prove nothing).
    assert_eq!(task.label(&b.tokens).unwrap().len(), b.targets.len(), "{id} {what}: the labeller refuses the batch");
}

#[test]
fn every_weight_figure_names_an_analysis_of_the_weights() {
    for id in TASK_IDS {
        for &name in by_id(id).unwrap().weight_figures() {
            let a = toylens::analysis::catalog::find(name).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(a.needs, toylens::analysis::catalog::Needs::Weights, "{id}: {name} needs more than the weights");
        }
    }
}

#[test]
fn every_task_keeps_the_contract() {
    for id in TASK_IDS {
        let task = by_id(id).unwrap();
        assert_eq!(task.id(), id);
        let mut rng = StdRng::seed_from_u64(17);
        let s = task.sample(&mut rng, 37);
        assert_eq!(s.len(), 37, "{id}: sample size");
        check_batch(&*task, &s, "sample");
        let held = task.held_out();
        check_batch(&*task, &held, "held_out");
        match task.train_data(task.recipe().seed) {
            TrainData::Fixed(b) => {
                check_batch(&*task, &b, "train_data");
                // No held-out row is trained on.
                let train: HashSet<&[i64]> = b.tokens.ids.chunks(b.tokens.pos).collect();
                let leaked = held.tokens.ids.chunks(held.tokens.pos).filter(|r| train.contains(r)).count();
                assert_eq!(leaked, 0, "{id}: {leaked} held-out rows in the training set");
            }
            TrainData::Fresh => {}
        }
    }
}

#[test]
fn recipes_are_sane() {
    for id in TASK_IDS {
        let task = by_id(id).unwrap();
        let r = task.recipe();
        assert!(r.steps > 0 && r.batch_size > 0, "{id}");
        assert!(r.eval_every > 0 && r.eval_every <= r.steps, "{id}: eval_every {}", r.eval_every);
        assert!(r.target.max_loss.is_some() || r.target.min_accuracy.is_some(), "{id}: no target");
        if let Some(f) = &r.freeze {
            regex::Regex::new(f).unwrap_or_else(|e| panic!("{id}: bad freeze regex: {e}"));
        }
        assert!(r.optim.lr() > 0.0, "{id}");
    }
}

#[test]
fn token_strings_are_distinct() {
    for id in TASK_IDS {
        let task = by_id(id).unwrap();
        let v = task.config().d_vocab as i64;
        let strs: HashSet<String> = (0..v).map(|t| task.token_str(t)).collect();
        assert_eq!(strs.len(), v as usize, "{id}: token strings collide");
        assert!(strs.iter().all(|s| !s.is_empty()), "{id}");
    }
}

#[test]
fn select_picks_rows_in_order() {
    for id in TASK_IDS {
        let task = by_id(id).unwrap();
        let b = task.sample(&mut StdRng::seed_from_u64(3), 6);
        let s = b.select(&[4, 1, 1]);
        let p = b.tokens.pos;
        assert_eq!((s.len(), s.tokens.pos), (3, p));
        for (k, &i) in [4usize, 1, 1].iter().enumerate() {
            assert_eq!(&s.tokens.ids[k * p..(k + 1) * p], &b.tokens.ids[i * p..(i + 1) * p], "{id}");
            assert_eq!(&s.targets[k * p..(k + 1) * p], &b.targets[i * p..(i + 1) * p], "{id}");
        }
        assert!(b.select(&[]).is_empty());
    }
}

#[test]
fn labellers_reject_out_of_vocab_tokens() {
    for id in TASK_IDS {
        let task = by_id(id).unwrap();
        let mut b = task.sample(&mut StdRng::seed_from_u64(4), 2);
        let n = b.tokens.ids.len();
        b.tokens.ids[n - 1] = 999;
        let e = task.label(&b.tokens).unwrap_err().to_string();
        assert!(e.starts_with("tokens: ") && e.contains(id) && e.contains("999"), "{id}: {e}");
        let empty = Tokens { batch: 1, pos: 0, ids: vec![] };
        assert!(task.label(&empty).is_err(), "{id}: empty sequence accepted");
    }
    assert!(by_id("nope").is_err());
}
