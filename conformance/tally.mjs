// Tallies the checks.json files one conformance run wrote, and prints the summary lines that
// conformance/run.sh ends each profile with:
//   conformance [PROFILE]: S scenarios (...), W warnings, Ts
//   conformance: N passed, M failed (PROFILE: LABEL ...)
// Usage: node tally.mjs DIR PROFILE LABEL [REQUIREMENTS_YAML|""] [STRICT 0|1] [SECONDS]
// With a requirements file, N/M count the scored scenarios' checks; not-scored scenarios are
// reported on their own and fail the run only when STRICT is 1. A scenario directory without
// checks.json counts as one failed check (the scenario crashed or was cut off), unless the log
// says the suite skipped it. Exit 1 when a counted check failed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [dir, profile, label, reqFile = '', strict = '1', seconds = '?'] = process.argv.slice(2);
let scored = null;
if (reqFile) {
  const require = createRequire(import.meta.url);
  const YAML = require('yaml');
  scored = new Set(YAML.parse(fs.readFileSync(reqFile, 'utf8')).server ?? []);
}
const logFile = path.join(dir, 'conformance.log');
const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
const skipped = new Set([...log.matchAll(/SKIPPED: scenario '([^']+)'/g)].map((m) => m[1]));

const counted = { SUCCESS: 0, FAILURE: 0, WARNING: 0 };
const other = { SUCCESS: 0, FAILURE: 0, WARNING: 0 };
const scen = { clean: 0, warn: 0, failing: [], otherFailing: [], otherTotal: 0 };
for (const entry of fs.readdirSync(dir).sort()) {
  const sub = path.join(dir, entry);
  if (!entry.startsWith('server-') || !fs.statSync(sub).isDirectory()) continue;
  const name = entry.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
  const file = path.join(sub, 'checks.json');
  if (!fs.existsSync(file) && skipped.has(name)) continue;
  let checks;
  try {
    checks = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    checks = [{ id: name, status: 'FAILURE' }];
  }
  const failed = checks.some((c) => c.status === 'FAILURE');
  const isScored = !scored || scored.has(name);
  const t = isScored ? counted : other;
  for (const c of checks) if (c.status in t) t[c.status] += 1;
  if (!isScored) {
    scen.otherTotal += 1;
    if (failed) scen.otherFailing.push(name);
  } else if (failed) scen.failing.push(name);
  else if (checks.some((c) => c.status === 'WARNING')) scen.warn += 1;
  else scen.clean += 1;
}
const n = scen.clean + scen.warn + scen.failing.length;
let line = `conformance [${profile}]: ${n} ${scored ? 'scored ' : ''}scenarios (${scen.clean} clean, ` +
  `${scen.warn} with warnings, ${scen.failing.length} failing)`;
if (scored) line += `; ${scen.otherTotal} not scored (${scen.otherFailing.length} failing${strict === '1' ? ', must pass' : ''})`;
console.log(`\n${line}, ${counted.WARNING} warnings, ${seconds}s`);
if (scen.failing.length) console.log(`conformance [${profile}]: failing: ${scen.failing.join(' ')}`);
if (scen.otherFailing.length) console.log(`conformance [${profile}]: not-scored failing: ${scen.otherFailing.join(' ')}`);
let failedChecks = counted.FAILURE;
let note = scored ? 'scored checks' : 'all checks';
if (scored) note += `; not scored: ${other.SUCCESS} passed, ${other.FAILURE} failed`;
if (scored && strict === '1') failedChecks += other.FAILURE;
const passedChecks = counted.SUCCESS + (scored && strict === '1' ? other.SUCCESS : 0);
if (scored && strict === '1') note = 'scored and not-scored checks';
if (n === 0) { console.log(`conformance [${profile}]: no scenario produced results`); failedChecks += 1; }
console.log(`conformance: ${passedChecks} passed, ${failedChecks} failed (${profile}: ${label}; ${note})`);
process.exit(failedChecks > 0 ? 1 : 0);
