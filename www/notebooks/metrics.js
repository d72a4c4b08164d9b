// A training run's log as the CLI writes it (pure: the page and tools/claims.mjs read it).

/** metrics.jsonl (a line per step, eval lines with eval_* and figures) -> curves {train, eval}. */
export function parseMetrics(text) {
  const train = [];
  const evals = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line);
    if ('eval_loss' in m) evals.push({ step: m.step, loss: m.eval_loss, accuracy: m.eval_accuracy, figures: m.figures ?? null });
    else if ('loss' in m) train.push(trainPoint(m));
  }
  return { train, eval: evals };
}

/**
 * A training step's log (the CLI's line, the engine's StepLog) as a curve point: at the step
 * count after it, with the task's figures of its batch when the task logs them.
 */
export function trainPoint(log) {
  const p = { step: log.step + 1, loss: log.loss, accuracy: log.accuracy };
  if (log.figures) p.figures = log.figures;
  return p;
}

/** The part of `curves` a model at `step` had seen: its points up to that step. */
export function upTo(curves, step) {
  return { train: curves.train.filter((p) => p.step <= step), eval: curves.eval.filter((p) => p.step <= step) };
}
