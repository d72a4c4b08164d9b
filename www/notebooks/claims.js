// A figure's claim as a predicate (pure: the page, the site build's tools/claims.mjs and the
// node tests all judge claims with these functions, on the same declarations).
//
// A computed figure declares, next to its sentence (`claim`), the test that decides it:
//   check: {key, op, than, says}
//     key   a number the figure's live() returns (the page shows it, data-live/data-value)
//     op    '<' | '<=' | '>' | '>=' : how it compares with
//     than  the threshold, a number the reader sees beside the claim
//     says  what the number is, in a few words ("rows with the diagonal largest, share")
// The claim holds for the model and input on screen when `live[key] op than`.

export const OPS = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};
const SHOWN = { '<': '<', '<=': '≤', '>': '>', '>=': '≥' };

/** Throws on a check that cannot be judged (named after the figure `at`). */
export function checkCheck(check, at) {
  if (!check || typeof check !== 'object') throw new Error(`${at}: a computed figure needs check: {key, op, than, says} (see claims.js)`);
  if (typeof check.key !== 'string' || !check.key) throw new Error(`${at}: check.key must name a number of live()`);
  if (!OPS[check.op]) throw new Error(`${at}: check.op must be one of ${Object.keys(OPS).join(' ')}`);
  if (typeof check.than !== 'number' || !Number.isFinite(check.than)) throw new Error(`${at}: check.than must be a finite number`);
  if (typeof check.says !== 'string' || !check.says) throw new Error(`${at}: check.says must say what the number is`);
}

/** The predicate as a reader reads it: "diagonal share ≥ 0.9". */
export function testText(check) {
  return `${check.says} ${SHOWN[check.op]} ${check.than}`;
}

/**
 * The verdict of `figure`'s claim on its live numbers: {state: 'holds' | 'fails', value, test}.
 * A number that is not finite (a model that has not learned: NaN, nothing found) fails. A
 * live() without the key is a declaration error and throws.
 */
export function judge(figure, live) {
  const { check } = figure;
  if (!live || !Object.hasOwn(live, check.key)) throw new Error(`${figure.view}: live() returned no ${check.key}, the number its claim is checked on`);
  const value = live[check.key];
  const ok = typeof value === 'number' && Number.isFinite(value) && OPS[check.op](value, check.than);
  return { state: ok ? 'holds' : 'fails', value, test: testText(check) };
}

/** The figures of `page` whose claims are predicates (every computed figure of a task page). */
export function checked(page) {
  return page.figures.filter((f) => f.follows && f.check);
}

/** A check, as pages declare it: holds('ov-diag', '>=', 0.9, 'rows with the diagonal largest, share'). */
export function holds(key, op, than, says) {
  return { key, op, than, says };
}
