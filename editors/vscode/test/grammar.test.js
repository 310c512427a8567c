// Checks the TextMate grammar with Node's built-ins only (no npm install):
//
//   node editors/vscode/test/grammar.test.js
//
// - every regular expression compiles (as JavaScript; the grammar avoids Oniguruma-only
//   syntax) and every `#include` names a rule of the repository;
// - every `.drbook` file of the repository is tokenized line by line with begin/end regions,
//   as an editor does: no region may still be open at the end of a file (a string rule that
//   leaks would colour the rest of the file), and every `step NAME` line gives NAME the
//   step-name scope, every `run` the action scope.
// Exits 1 on the first kind of failure, printing all of them.

'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const repo = path.resolve(__dirname, '../../..');
const grammar = JSON.parse(fs.readFileSync(path.join(__dirname, '../syntaxes/drbook.tmLanguage.json'), 'utf8'));
const failures = [];

function compile(src, where) {
  try {
    return new RegExp(src, 'g');
  } catch (e) {
    failures.push(`${where}: ${e.message}`);
    return null;
  }
}

// Resolve includes into a list of concrete rules.
function rules(list, where) {
  const out = [];
  for (const [i, r] of (list || []).entries()) {
    if (r.include) {
      if (r.include === 'source.shell') continue; // VS Code's own shell grammar
      const name = r.include.replace(/^#/, '');
      const target = grammar.repository[name];
      if (!target) {
        failures.push(`${where}[${i}]: include ${r.include} names no rule`);
        continue;
      }
      out.push(...(target.patterns ? rules(target.patterns, name) : [compiled(target, name)]));
    } else if (r.patterns && !r.begin) {
      out.push(...rules(r.patterns, `${where}[${i}]`));
    } else {
      out.push(compiled(r, `${where}[${i}]`));
    }
  }
  return out;
}

const cache = new Map();
function compiled(r, where) {
  if (!cache.has(r)) {
    const c = { rule: r, where };
    cache.set(r, c);
    if (r.match) c.match = compile(r.match, `${where}.match`);
    if (r.begin) {
      c.begin = compile(r.begin, `${where}.begin`);
      c.end = compile(r.end, `${where}.end`);
      c.inner = null; // resolved lazily (rules may nest)
    }
  }
  return cache.get(r);
}

const root = rules(grammar.patterns, 'patterns');
for (const [name, r] of Object.entries(grammar.repository)) rules([{ include: `#${name}` }], name);
if (failures.length) finish();

function scopesOf(c, m) {
  const names = [];
  const caps = c.rule.captures || c.rule.beginCaptures || {};
  for (const [k, v] of Object.entries(caps)) if (m[k] !== undefined) names.push([v.name, m[k]]);
  if (c.rule.name) names.push([c.rule.name, m[0]]);
  return names;
}

function tokenize(text) {
  const stack = []; // open begin/end rules
  const tokens = [];
  for (const line of text.split('\n')) {
    let pos = 0;
    while (pos <= line.length) {
      const top = stack[stack.length - 1];
      const candidates = top ? (top.inner ||= rules(top.rule.patterns, top.where)) : root;
      let best = null;
      if (top) {
        top.end.lastIndex = pos;
        const m = top.end.exec(line);
        if (m) best = { m, end: true };
      }
      for (const c of candidates) {
        const re = c.match || c.begin;
        if (!re) continue;
        re.lastIndex = pos;
        const m = re.exec(line);
        if (m && (!best || m.index < best.m.index)) best = { m, c };
      }
      if (!best) break;
      const { m } = best;
      if (best.end) stack.pop();
      else {
        tokens.push(...scopesOf(best.c, m));
        if (best.c.begin) stack.push(best.c);
      }
      const next = m.index + m[0].length;
      if (next === pos && m[0].length === 0) {
        if (best.end) continue; // `$` closed a region: go on on this line
        pos += 1;
      } else pos = next;
      if (pos >= line.length && !(stack.length && stack[stack.length - 1].end.source.includes('$'))) break;
    }
  }
  return { tokens, open: stack.map((c) => c.where) };
}

const expected = fs
  .readFileSync(path.join(repo, 'editors/tree-sitter-drbook/test/expected-errors.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));
const files = execFileSync('git', ['ls-files', '*.drbook'], { cwd: repo, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
let checked = 0;
for (const f of files) {
  if (expected.includes(f)) continue;
  const text = fs.readFileSync(path.join(repo, f), 'utf8');
  const { tokens, open } = tokenize(text);
  if (open.length) failures.push(`${f}: regions still open at the end: ${open.join(', ')}`);
  for (const [, name] of text.matchAll(/^\s*(?:finally\s+)?step\s+([A-Za-z_][A-Za-z0-9_-]*)/gm)) {
    if (!tokens.some(([scope, t]) => scope === 'entity.name.function.step.drbook' && t === name)) {
      failures.push(`${f}: step ${name} did not get the step-name scope`);
    }
  }
  if (/^\s*run\s/m.test(text) && !tokens.some(([scope, t]) => scope === 'support.function.action.drbook' && t === 'run')) {
    failures.push(`${f}: no \`run\` got the action scope`);
  }
  checked += 1;
}
finish();

function finish() {
  if (failures.length) {
    console.error(failures.join('\n'));
    console.error(`FAILED: the TextMate grammar (${failures.length} problems)`);
    process.exit(1);
  }
  console.log(`TextMate grammar: ${checked} runbooks tokenized, every region closed`);
}
