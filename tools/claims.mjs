// Judges every notebook page's claims on every checkpoint of its pretrained timeline, with the
// page's own declarations (page.js: reads, live, check) fed by the native engine
// (`toylens analyze TASK --weights W --many -`, the same analyses the page's engine runs), and
// writes the verdicts to DIST/models/<task>/claims.json for the page's emergence view.
// Figures of the input are judged on the page's example input, with the page's default picks.
//
//   node tools/claims.mjs DIST [--cli target/release/toylens] [--task min] [--jobs 2]
//
// The tests read the same files (tests/e2e/claims.test.mjs): every claim must hold on the
// final checkpoint, and at least a third must fail on the first.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASK_PAGES } from '../www/notebooks/pages.js';
import { checked, judge } from '../www/notebooks/claims.js';
import { picksOf, readKey, readsOf } from '../www/notebooks/declare.js';
import { parseMetrics } from '../www/notebooks/metrics.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `toylens analyze TASK --weights FILE --many -` on `reads`: one result per read. */
function analyzeMany(cli, task, file, reads) {
  return new Promise((resolve, reject) => {
    const child = execFile(cli, ['analyze', task, '--weights', file, '--many', '-'], { maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`toylens analyze ${task} --weights ${file}: ${stderr.trim() || err.message}`));
      resolve(JSON.parse(stdout));
    });
    child.stdin.end(JSON.stringify(reads));
  });
}

/** Runs `jobs` of `fns` (async thunks) at a time, results in order. */
async function pool(fns, jobs) {
  const out = new Array(fns.length);
  let next = 0;
  const worker = async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, fns.length) }, worker));
  return out;
}

/**
 * The verdicts of `page`'s claims at one checkpoint (`file`, `step`): {view: {state, value}}.
 * `info` is the task's facts, `curves` its pretrained run's log.
 */
async function judgeCheckpoint(page, { cli, file, step, info, curves }) {
  const ctx = { info, tokens: page.example, picks: page.picks ?? {}, model: { source: 'pretrained', step, label: `pretrained, step ${step}` } };
  const figures = checked(page);
  const wanted = new Map(); // readKey -> index into the CLI's reads
  const reads = [];
  const plan = figures.map((f) => {
    const fctx = { ...ctx, picks: picksOf(f, ctx.picks) }; // what the page passes a figure
    const names = readsOf(f, fctx).map(([name, read, tokens]) => {
      if (read.op === 'curves') return [name, { curves: true }];
      if (read.op === 'cache') throw new Error(`${f.view}: reads the cache, which the claims tool does not run`);
      const key = readKey(read, tokens);
      if (!wanted.has(key)) {
        wanted.set(key, reads.length);
        reads.push(read.op === 'task_label' ? { op: 'task_label', tokens } : { what: read.analysis, tokens, request: read.request ?? null });
      }
      return [name, { index: wanted.get(key) }];
    });
    return { f, fctx, names };
  });
  const results = reads.length ? await analyzeMany(cli, page.task, file, reads) : [];
  const out = {};
  for (const { f, fctx, names } of plan) {
    const r = {};
    for (const [name, src] of names) {
      if (src.curves) r[name] = curves;
      else {
        const v = results[src.index];
        if (v && typeof v === 'object' && !Array.isArray(v) && 'error' in v && Object.keys(v).length === 1) throw new Error(`${f.view} at step ${step}: ${v.error}`);
        r[name] = v;
      }
    }
    const { state, value } = judge(f, f.live(r, fctx));
    out[f.view] = { state, value };
  }
  return out;
}

/** Every claim of `page` on every pretrained checkpoint: the claims.json object. */
export async function judgeTimeline(page, { dist, cli, jobs = 2 }) {
  const index = JSON.parse(fs.readFileSync(path.join(dist, 'models/index.json'), 'utf8'));
  const m = index[page.task];
  const steps = m.checkpoints;
  const final = steps.at(-1);
  const fileOf = (step) => path.join(dist, 'models', step === final ? m.weights : `${page.task}/checkpoints/step_${step}.safetensors`);
  const [info] = await analyzeMany(cli, page.task, fileOf(final), [{ op: 'task_info' }]);
  const curves = parseMetrics(fs.readFileSync(path.join(dist, 'models', m.metrics), 'utf8'));
  const verdicts = await pool(steps.map((step) => () => judgeCheckpoint(page, { cli, file: fileOf(step), step, info, curves })), jobs);
  const claims = {};
  for (const f of checked(page)) {
    claims[f.view] = { states: verdicts.map((v) => v[f.view].state), values: verdicts.map((v) => v[f.view].value) };
  }
  return { task: page.task, input: page.example, picks: page.picks ?? {}, steps, claims };
}

async function main(argv) {
  const dist = path.resolve(argv[0] ?? path.join(ROOT, 'dist'));
  const opt = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  const cli = opt('--cli', path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'release/toylens'));
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: the claims are judged by the native CLI (cargo build --release)`);
  const only = opt('--task', null);
  const jobs = Number(opt('--jobs', 2));
  for (const page of TASK_PAGES.filter((p) => !only || p.task === only)) {
    const t0 = Date.now();
    const out = await judgeTimeline(page, { dist, cli, jobs });
    fs.writeFileSync(path.join(dist, 'models', page.task, 'claims.json'), `${JSON.stringify(out)}\n`);
    const final = Object.values(out.claims).filter((c) => c.states.at(-1) === 'holds').length;
    const first = Object.values(out.claims).filter((c) => c.states[0] === 'holds').length;
    const n = Object.keys(out.claims).length;
    console.log(`claims: ${page.task}: ${first} of ${n} hold at step ${out.steps[0]}, ${final} of ${n} at step ${out.steps.at(-1)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`claims: ${e.message}`);
    process.exit(1);
  });
}
