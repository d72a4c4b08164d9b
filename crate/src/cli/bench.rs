//! `toylens bench`: per task, native steps/s on each available backend, time to the task's
//! target, peak memory, and the same for a PyTorch + TransformerLens reference trained on the
//! very same batches (bench/torch_ref.py). One JSON file under bench/results/.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::io::safetensors::{OutTensor, write_tensors};
use crate::tasks::{self, Batch, TASK_IDS};
use crate::train::Trainer;
use crate::{Error, Result};

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

fn stack(batches: &[Batch]) -> (Vec<usize>, Vec<i64>, Vec<i64>) {
    // Fixed-set epochs end with a short batch; pad it with ignored rows so batches stack.
    let b = batches.iter().map(|x| x.len()).max().unwrap_or(0);
    let p = batches.first().map(|x| x.tokens.pos).unwrap_or(0);
    let (mut toks, mut tgts) = (vec![], vec![]);
    for x in batches {
        toks.extend_from_slice(&x.tokens.ids);
        tgts.extend_from_slice(&x.targets);
        let pad = (b - x.len()) * p;
        toks.extend(std::iter::repeat_n(0, pad));
        tgts.extend(std::iter::repeat_n(tasks::IGNORE, pad));
    }
    (vec![batches.len(), b, p], toks, tgts)
}

/// One task, one backend: throughput, then training to target under the cap, exporting the
/// batches used so the reference can replay them.
fn run_one(task_id: &str, a: &BenchArgs, data_dir: &Path) -> Result<Value> {
    let task = tasks::by_id(task_id)?;
    let (cfg, recipe) = (task.config(), task.recipe());
    let device = super::common::device(a.backend)?;
    let mut tr = Trainer::new(task, cfg.clone(), recipe.clone(), &device)?;
    let target = recipe.target.clone();
    let eval_every = if recipe.eval_every == 0 { recipe.steps } else { recipe.eval_every };
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
        if tr.step % eval_every == 0 || tr.step == recipe.steps {
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
    // The replay file for the reference implementation.
    let (shape, toks, tgts) = stack(&batches);
    let held = tr.task.held_out();
    let data = write_tensors(&[
        ("tokens".into(), OutTensor::I64 { shape: &shape, values: &toks }),
        ("targets".into(), OutTensor::I64 { shape: &shape, values: &tgts }),
        ("held_tokens".into(), OutTensor::I64 { shape: &[held.len(), held.tokens.pos], values: &held.tokens.ids }),
        ("held_targets".into(), OutTensor::I64 { shape: &[held.len(), held.tokens.pos], values: &held.targets }),
        ("lr".into(), OutTensor::F32 { shape: &[lrs.len()], values: &lrs }),
        ("beta1".into(), OutTensor::F32 { shape: &[beta1s.len()], values: &beta1s }),
    ])?;
    // Per backend: the reference replays the CPU run's batches, not a slower backend's fewer.
    let stem = format!("{task_id}-{}", backend_name(a.backend));
    std::fs::write(data_dir.join(format!("{stem}.safetensors")), data).map_err(|e| Error::Io(e.to_string()))?;
    std::fs::write(
        data_dir.join(format!("{stem}.json")),
        serde_json::to_string(&json!({"config": cfg.to_json(), "recipe": recipe, "eval_every": eval_every})).unwrap(),
    )
    .map_err(|e| Error::Io(e.to_string()))?;
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
                .arg("--data-dir")
                .arg(&shared)
                .output()
                .map_err(|e| Error::Io(e.to_string()))?;
            let v = if out.status.success() {
                serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
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
                serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
            } else {
                json!({"error": String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("").to_string()})
            };
            let ours = entry.get("toylens_cpu").and_then(|v| v["steps_per_s"].as_f64());
            let theirs = v["steps_per_s"].as_f64();
            if let (Some(o), Some(r)) = (ours, theirs) {
                entry.insert("steps_per_s_ratio_cpu_vs_pytorch".into(), json!(o / r));
            }
            entry.insert("pytorch_transformer_lens".into(), v);
        }
        if let Some(v) = pretraining_time_to_target(t) {
            entry.insert("pretraining_run".into(), v);
        }
        results.insert(t.clone(), Value::Object(entry));
    }
    let report = json!({
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
        "cap_seconds": a.seconds,
        "reference": reference_note.unwrap_or_else(|| "PyTorch + TransformerLens on the same batches".into()),
        "tasks": results,
    });
    let _ = std::fs::remove_dir_all(&shared);
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io(e.to_string()))?;
    let path = a.out.join("bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).map_err(|e| Error::Io(e.to_string()))?;
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    eprintln!("bench: wrote {}", path.display());
    Ok(())
}
