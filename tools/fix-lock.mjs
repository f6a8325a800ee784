#!/usr/bin/env node
// The npm registry reachable here serves only some platform builds of packages with per-platform
// optional dependencies (biome, turbo, ...): `npm install` then leaves the other platforms' entries
// out of package-lock.json, and `npm ci` refuses the lock ("Missing: @biomejs/cli-darwin-arm64@
// from lock file"). This adds the missing optional entries with their platform (os/cpu/libc from
// the package name), so npm ci accepts the lock and skips them on this platform, as it would with
// a complete lock. Run after every `npm install`: node tools/fix-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;
const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix'];
const CPU = {
  x64: 'x64',
  amd64: 'x64',
  arm64: 'arm64',
  aarch64: 'arm64',
  ia32: 'ia32',
  arm: 'arm',
  riscv64: 'riscv64',
  ppc64: 'ppc64',
  s390x: 's390x',
  loong64: 'loong64',
};

function platformOf(name) {
  const parts = name.split('/').pop().split(/[-_.]/);
  const os =
    parts.find((p) => OS.includes(p)) ??
    (parts.includes('windows') ? 'win32' : parts.includes('macos') ? 'darwin' : undefined);
  const cpuKey = parts.find((p) => p in CPU) ?? (parts.includes('64') ? 'x64' : undefined);
  const libc = parts.includes('musl')
    ? 'musl'
    : os === 'linux' && (parts.includes('gnu') || true)
      ? 'glibc'
      : undefined;
  return { os, cpu: cpuKey ? CPU[cpuKey] : undefined, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  const opt = entry.optionalDependencies;
  if (!opt) continue;
  const base = path === '' ? 'node_modules/' : `${path}/node_modules/`;
  for (const [dep, spec] of Object.entries(opt)) {
    // npm resolves a dependency in the nearest node_modules up the tree.
    let found = false;
    for (let p = path; ; ) {
      if (pkgs[`${p ? `${p}/` : ''}node_modules/${dep}`]) {
        found = true;
        break;
      }
      if (!p) break;
      const i = p.lastIndexOf('/node_modules/');
      p = i < 0 ? '' : p.slice(0, i);
    }
    if (found) continue;
    const version = String(spec).replace(/^[\^~=]/, '');
    if (!/^\d+\.\d+\.\d+/.test(version)) continue;
    const { os, cpu, libc } = platformOf(dep);
    const e = { version, dev: entry.dev || undefined, optional: true };
    if (os) e.os = [os];
    if (cpu) e.cpu = [cpu];
    if (os === 'linux' && libc) e.libc = [libc];
    pkgs[`node_modules/${dep}`] = JSON.parse(JSON.stringify(e));
    added++;
    void base;
  }
}
const sorted = {};
for (const k of Object.keys(pkgs).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)))
  sorted[k] = pkgs[k];
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`fix-lock: added ${added} missing optional platform entries`);
