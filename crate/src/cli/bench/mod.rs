//! `toylens bench`: per task, native steps/s on each available backend, time to the task's
//! target, peak memory, and the same for a PyTorch + TransformerLens reference trained on the
//! very same batches (bench/torch_ref.py). One JSON file under bench/results/.
//!
//! The speed ratio comes from alternating rounds: toylens and the reference take turns (a few
//! seconds of steps each, the order swapped every round), and the ratio is of the median
//! per-step times pooled over the rounds, so a busy machine slows both sides alike; the
//! per-round ratios give its spread.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::tasks::{self, TASK_IDS};
use crate::train::Trainer;
use crate::{Error, Result};

mod replay;
mod stats;

use replay::Replay;
use stats::{median, step_stats};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Tasks to run (default: all five).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    /// Wall-clock cap per task and implementation for the time-to-target run.
    #[arg(long, default_value_t = 120.0)]
    pub seconds: f64,
    /// Python with torch + transformer_lens for the reference (skipped when absent).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Internal: run one task on one backend in this process and print its JSON.
    #[arg(long, hide = true)]
    pub one: Option<String>,
    #[arg(long, value_enum, default_value = "cpu", hide = true)]
    pub backend: super::common::Backend,
    /// Internal: where `--one` writes the batches it trained on.
    #[arg(long, hide = true)]
    pub data_dir: Option<PathBuf>,
    /// Alternating throughput rounds per task (toylens, then the reference, order swapped
    /// each round).
    #[arg(long, default_value_t = 6)]
    pub rounds: usize,
    /// Seconds of toylens steps per round (the reference runs as many steps).
    #[arg(long, default_value_t = 2.0)]
    pub round_seconds: f64,
    /// Internal: with `--one`, one throughput round of this many timed steps.
    #[arg(long, hide = true, default_value_t = 0)]
    pub timed_steps: usize,
    /// Internal: untimed steps before a throughput round's timed ones.
    #[arg(long, hide = true, default_value_t = 0)]
    pub warmup: usize,
    /// Train at this batch size instead of the recipe's, on both sides (the ratio against
    /// PyTorch moves with the batch); the report is then bench-batch<N>.json.
    #[arg(long)]
    pub batch: Option<usize>,
}

/// The task's recipe at `--batch`, as the CLI's `train --batch` fits it.
fn recipe_of(task: &dyn tasks::Task, a: &BenchArgs) -> crate::train::Recipe {
    task.recipe().with_settings(&crate::train::recipe::Settings { batch: a.batch, ..Default::default() })
}

/// `--batch`, passed on to the `--one` runs.
fn batch_args(a: &BenchArgs) -> Vec<String> {
    a.batch.map(|b| vec!["--batch".to_string(), b.to_string()]).unwrap_or_default()
}

fn backend_name(b: super::common::Backend) -> &'static str {
    match b {
        super::common::Backend::Cpu => "cpu",
        super::common::Backend::Wgpu => "wgpu",
    }
}

/// Peak resident memory of this process (Linux), MB.
fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One task, one backend: throughput, then training to target under the cap, exporting the
/// batches used so the reference can replay them.
fn run_one(task_id: &str, a: &BenchArgs, data_dir: &Path) -> Result<Value> {
    let task = tasks::by_id(task_id)?;
    let (cfg, recipe) = (task.config(), recipe_of(&*task, a));
    let device = super::common::device(a.backend)?;
    let mut tr = Trainer::new(task, cfg.clone(), recipe.clone(), &device)?;
    let target = recipe.target.clone();
    let t0 = Instant::now();
    let (mut reached_at, mut evals) = (None, vec![]);
    let mut step_times = vec![];
    let mut batches = vec![];
    // The schedule as applied, so the reference replays it value for value.
    let (mut lrs, mut beta1s) = (vec![], vec![]);
    while tr.step < recipe.steps && t0.elapsed().as_secs_f64() < a.seconds {
        let ts = Instant::now();
        let (log, batch) = tr.step_with_batch()?;
        step_times.push(ts.elapsed().as_secs_f64());
        batches.push(batch);
        beta1s.push(recipe.schedule.beta1(log.step).unwrap_or(f64::NAN) as f32);
        lrs.push(log.lr as f32);
        if recipe.evaluates_at(tr.step) {
            let e = tr.evaluate()?;
            let ok = target.max_loss.is_none_or(|m| (e.loss as f64) <= m)
                && target.min_accuracy.is_none_or(|m| (e.accuracy as f64) >= m);
            evals.push(
                json!({"step": tr.step, "loss": e.loss, "accuracy": e.accuracy, "seconds": t0.elapsed().as_secs_f64()}),
            );
            if ok {
                reached_at = Some(json!({"step": tr.step, "seconds": t0.elapsed().as_secs_f64()}));
                break;
            }
        }
    }
    // Throughput over steady-state steps (the first few warm caches and allocators).
    let skip = (step_times.len() / 10).min(20);
    let steady = &step_times[skip..];
    let sps = steady.len() as f64 / steady.iter().sum::<f64>().max(1e-9);
    // The replay file for the reference implementation: per backend, so the reference replays
    // the CPU run's batches, not a slower backend's fewer.
    let stem = format!("{task_id}-{}", backend_name(a.backend));
    let replay = Replay { batches: &batches, held: &tr.task.held_out(), lrs: &lrs, beta1s: &beta1s };
    replay.write(data_dir, &stem, &cfg, &recipe)?;
    Ok(json!({
        "steps_per_s": sps,
        "steps_run": tr.step,
        "time_to_target": reached_at,
        "target": target,
        "evals": evals,
        "peak_rss_mb": peak_rss_mb(),
        "cap_seconds": a.seconds,
    }))
}

/// One throughput round: `warmup` untimed steps of a fresh run, then `timed` timed ones.
fn time_steps(task_id: &str, a: &BenchArgs) -> Result<Vec<f64>> {
    let task = tasks::by_id(task_id)?;
    let (cfg, recipe) = (task.config(), recipe_of(&*task, a));
    let device = super::common::device(a.backend)?;
    let mut tr = Trainer::new(task, cfg, recipe, &device)?;
    let mut times = vec![];
    for _ in 0..a.warmup + a.timed_steps {
        let ts = Instant::now();
        tr.step_with_batch()?;
        times.push(ts.elapsed().as_secs_f64());
    }
    Ok(times.split_off(a.warmup))
}

fn run_json(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().map_err(|e| Error::Io(e.to_string()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Io(err.lines().last().unwrap_or("failed").to_string()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Error::Io(e.to_string()))
}

/// Alternating throughput rounds of toylens (CPU) and the reference on `task`'s batches:
/// each side's pooled step times, the ratio of medians and the per-round ratios.
fn alternate(task: &str, exe: &Path, py: &Path, shared: &Path, sps: f64, a: &BenchArgs) -> Result<Value> {
    // At least 10 steps, so a round of the slow tasks (majority: ~1 s a step) is not one outlier.
    let timed = ((a.round_seconds * sps).round() as usize).clamp(10, 5000);
    let warmup = (timed / 5).clamp(2, 50);
    let (n, w) = (timed.to_string(), warmup.to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/torch_ref.py");
    let (mut ours, mut theirs, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..a.rounds {
        let run_ours = || {
            run_json(
                Command::new(exe)
                    .args(["bench", "--one", task, "--timed-steps", &n, "--warmup", &w])
                    .args(batch_args(a)),
            )
        };
        let run_theirs = || {
            run_json(
                Command::new(py)
                    .arg(&script)
                    .arg(shared.join(format!("{task}-cpu.safetensors")))
                    .arg(shared.join(format!("{task}-cpu.json")))
                    .args(["--timed-steps", &n, "--warmup", &w]),
            )
        };
        let (o, t) = if round % 2 == 0 {
            let o = run_ours()?;
            (o, run_theirs()?)
        } else {
            let t = run_theirs()?;
            (run_ours()?, t)
        };
        // A run without its step times has failed: say so, rather than pool nothing into a NaN ratio.
        let times = |who: &str, v: &Value| -> Result<Vec<f64>> {
            let t: Vec<f64> =
                v["step_seconds"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
            if t.is_empty() {
                return Err(Error::Io(format!("{task}, round {round}: {who} printed no step_seconds: {v}")));
            }
            Ok(t)
        };
        let (o, t) = (times("toylens", &o)?, times("the PyTorch reference", &t)?);
        ratios.push(median(&t) / median(&o));
        ours.extend(o);
        theirs.extend(t);
    }
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(json!({
        "rounds": a.rounds, "steps_per_round": timed, "warmup_steps": warmup,
        "toylens_cpu": step_stats(&ours),
        "pytorch_transformer_lens": step_stats(&theirs),
        "ratio": median(&theirs) / median(&ours),
        "ratio_per_round": ratios,
        "ratio_min_max": [sorted.first(), sorted.last()],
    }))
}

/// A run's JSON, or an entry that says what it printed instead (never a silent null).
fn parsed(stdout: &[u8], who: &str) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(stdout);
        json!({"error": format!("{who} printed no JSON ({e}): {}", text.chars().take(300).collect::<String>())})
    })
}

/// When the shipped model's own training run (models/<task>/metrics.jsonl) first met the
/// target: the full-length figure the capped runs above may not reach.
fn pretraining_time_to_target(task_id: &str) -> Option<Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(task_id);
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).ok()?;
    let target = tasks::by_id(task_id).ok()?.recipe().target;
    let mut last_step = None;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).ok()?;
        if let Some(step) = v["step"].as_u64() {
            last_step = Some(step);
        }
        let (Some(loss), Some(acc)) = (v["eval_loss"].as_f64(), v["eval_accuracy"].as_f64()) else { continue };
        if target.max_loss.is_none_or(|m| loss <= m) && target.min_accuracy.is_none_or(|m| acc >= m) {
            return Some(json!({"step": v["step"], "seconds": v["elapsed_s"], "eval_loss": loss, "eval_accuracy": acc,
                               "note": "from models/<task>/metrics.jsonl (trained on a shared, busy machine)"}));
        }
    }
    Some(json!({"not_reached_by_step": last_step}))
}

fn python_ok(py: &Path) -> bool {
    Command::new(py).args(["-c", "import torch, transformer_lens"]).output().is_ok_and(|o| o.status.success())
}

pub fn run(a: BenchArgs) -> Result<()> {
    if let Some(t) = &a.one {
        if a.timed_steps > 0 {
            println!("{}", json!({ "step_seconds": time_steps(t, &a)? }));
            return Ok(());
        }
        let dir = a.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        println!("{}", run_one(t, &a, &dir)?);
        return Ok(());
    }
    let tasks: Vec<String> =
        if a.tasks.is_empty() { TASK_IDS.iter().map(|s| s.to_string()).collect() } else { a.tasks.clone() };
    let exe = std::env::current_exe().map_err(|e| Error::Io(e.to_string()))?;
    let py = a.python.clone().filter(|p| python_ok(p));
    let reference_note = match (&a.python, &py) {
        (None, _) => Some("no --python given: the PyTorch reference was skipped".to_string()),
        (Some(p), None) => {
            Some(format!("{} lacks torch or transformer_lens: the PyTorch reference was skipped", p.display()))
        }
        _ => None,
    };
    if let Some(n) = &reference_note {
        eprintln!("bench: {n}");
    }
    let shared = std::env::temp_dir().join(format!("toylens-bench-{}", std::process::id()));
    std::fs::create_dir_all(&shared).map_err(|e| Error::Io(e.to_string()))?;
    let mut results = serde_json::Map::new();
    for t in &tasks {
        let mut entry = serde_json::Map::new();
        for backend in ["cpu", "wgpu"] {
            eprintln!("bench: {t} on {backend}…");
            // A process per run, so peak memory is this run's alone.
            let out = Command::new(&exe)
                .args(["bench", "--one", t, "--backend", backend, "--seconds", &a.seconds.to_string()])
                .args(batch_args(&a))
                .arg("--data-dir")
                .arg(&shared)
                .output()
                .map_err(|e| Error::Io(e.to_string()))?;
            let v = if out.status.success() {
                parsed(&out.stdout, "toylens bench --one")
            } else {
                json!({"unavailable": String::from_utf8_lossy(&out.stderr).trim().to_string()})
            };
            entry.insert(format!("toylens_{backend}"), v);
        }
        if let Some(py) = &py {
            eprintln!("bench: {t} on PyTorch + TransformerLens…");
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/torch_ref.py");
            let out = Command::new(py)
                .arg(&script)
                .arg(shared.join(format!("{t}-cpu.safetensors")))
                .arg(shared.join(format!("{t}-cpu.json")))
                .args(["--seconds", &a.seconds.to_string()])
                .output()
                .map_err(|e| Error::Io(e.to_string()))?;
            let v: Value = if out.status.success() {
                parsed(&out.stdout, "bench/torch_ref.py")
            } else {
                json!({"error": String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string()})
            };
            entry.insert("pytorch_transformer_lens".into(), v);
            if let Some(sps) = entry.get("toylens_cpu").and_then(|v| v["steps_per_s"].as_f64()) {
                eprintln!("bench: {t}: {} alternating rounds against PyTorch…", a.rounds);
                let alt = alternate(t, &exe, py, &shared, sps, &a).unwrap_or_else(|e| json!({"error": e.to_string()}));
                if let Some(r) = alt["ratio"].as_f64() {
                    entry.insert("steps_per_s_ratio_cpu_vs_pytorch".into(), json!(r));
                }
                entry.insert("alternating".into(), alt);
            }
        }
        if let Some(v) = pretraining_time_to_target(t) {
            entry.insert("pretraining_run".into(), v);
        }
        results.insert(t.clone(), Value::Object(entry));
    }
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "cap_seconds": a.seconds,
        "batch": a.batch.map_or(json!("each recipe's"), |b| json!(b)),
        "reference": reference_note.unwrap_or_else(|| "PyTorch + TransformerLens on the same batches".into()),
        "tasks": results,
    });
    let _ = std::fs::remove_dir_all(&shared);
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io(e.to_string()))?;
    let path = a.out.join(a.batch.map_or("bench.json".to_string(), |b| format!("bench-batch{b}.json")));
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).map_err(|e| Error::Io(e.to_string()))?;
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    eprintln!("bench: wrote {}", path.display());
    Ok(())
}
