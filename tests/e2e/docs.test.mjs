// The docs (www/docs/) against what they describe, without a browser: the CLI page has a
// section for every subcommand of the built binary naming each of its flags, and every link
// of the docs index and the front page leads to a file of the built site.
// Run: node --test tests/e2e/docs.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, DIST, ROOT } from './site.mjs';

const help = (...args) => execFileSync(CLI, [...args, '--help'], { encoding: 'utf8' });

/** The names under a clap help's "Commands:" heading (without `help`). */
function subcommands(text) {
  const block = text.split(/^Commands:\n/m)[1].split(/\n\n/)[0];
  return block.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n) => n && n !== 'help');
}

/** The long flags under a clap help's "Options:" heading (without --help and --version). */
const flags = (text) => [...new Set(text.split(/^Options:\n/m)[1].match(/--[a-z][a-z0-9-]*/g) ?? [])].filter((f) => f !== '--help' && f !== '--version');

test('docs/cli.html documents every subcommand and flag of the built toylens binary', () => {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: build the CLI first (./build.sh build)`);
  const html = fs.readFileSync(path.join(ROOT, 'www/docs/cli.html'), 'utf8');
  const commands = subcommands(help());
  assert.ok(commands.length >= 7, `subcommands: ${commands}`);
  for (const c of commands) {
    const section = html.match(new RegExp(`<section id="cmd-${c}">([\\s\\S]*?)</section>`))?.[1];
    assert.ok(section, `docs/cli.html has no section for ${c}`);
    const missing = flags(help(c)).filter((f) => !section.includes(f));
    assert.deepEqual(missing, [], `toylens ${c}: flags missing from docs/cli.html`);
  }
});

test('every link of the docs index and the front page leads to a file of the built site', () => {
  for (const page of ['index.html', 'docs/index.html', 'docs/cli.html']) {
    const html = fs.readFileSync(path.join(DIST, page), 'utf8');
    const local = [...html.matchAll(/href="([^"#:]+)(#[^"]*)?"/g)].map((m) => m[1]);
    assert.ok(local.length > 0, `${page}: no links read`);
    const broken = local.filter((href) => {
      const target = path.join(DIST, path.dirname(page), href);
      return !fs.existsSync(href.endsWith('/') ? path.join(target, 'index.html') : target);
    });
    assert.deepEqual(broken, [], `${page}: links to nothing`);
  }
});
