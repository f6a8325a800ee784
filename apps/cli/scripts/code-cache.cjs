// Loads the bundle's CommonJS files (dist/bundle) from V8's code cache: copied into dist/bundle by
// scripts/bundle.mjs and required first by bin/curate.js and by each worker thread's entry.
//
// Node 20 has no compile cache for ES modules (module.enableCompileCache is Node 22), and compiling
// the bundle's ~2 MB of JavaScript (and the functions it calls, compiled on first call) cost the main
// thread ~0.2 s of a re-mix's CPU profile, each worker thread ~0.1 s. A `vm.Script` takes cached
// data: bytecode V8 made before, for the top level and for every function compiled by then.
//
// The cache of a file is dist/bundle/code-cache/<file>.<v8 version>.bin, written at build time by a
// warm-up run (CURATE_CODE_CACHE=write: every thread writes, at its end and every 100 ms, the cache
// of each bundle file it loaded when it is larger than the one there, so the file holds the most
// functions any thread compiled). The file starts with the SHA-256 of the source it was made from:
// a cache of other source is never used (V8 itself checks only the source's length and its flags,
// and rejects data made under other flags: then the file compiles as usual).
// CURATE_CODE_CACHE=off loads without it; CURATE_CODE_CACHE=stats prints, when the main thread
// exits, how many of the files it loaded came from the cache (one stderr line, for tests).
'use strict';
const Module = require('node:module');
const vm = require('node:vm');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { isMainThread, threadId } = require('node:worker_threads');

const mode = process.env.CURATE_CODE_CACHE;
const dir = __dirname + path.sep;
const cacheDir = path.join(__dirname, 'code-cache');
const suffix = `.${process.versions.v8}.bin`;
const compile = Module.prototype._compile;
/** Scripts this thread compiled (write mode): [file, script, source hash]. */
const compiled = [];
const stats = { files: 0, cached: 0, rejected: 0 };

function cacheFile(filename) {
  return path.join(cacheDir, path.basename(filename) + suffix);
}

const sha256 = (content) => createHash('sha256').update(content).digest();

/** The cached data for `content`, or undefined (no cache file, or one made from other source). */
function readCache(filename, content) {
  let buf;
  try {
    buf = fs.readFileSync(cacheFile(filename));
  } catch {
    return undefined; // not hashed: a file without a cache costs nothing more
  }
  return buf.length > 32 && buf.subarray(0, 32).equals(sha256(content)) ? buf.subarray(32) : undefined;
}

function writeCaches() {
  for (const [filename, script, hash] of compiled) {
    try {
      const data = script.createCachedData();
      const file = cacheFile(filename);
      let have = 0;
      try {
        have = fs.statSync(file).size - 32;
      } catch {}
      if (data.length <= have) continue;
      fs.mkdirSync(cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.${threadId}.tmp`;
      fs.writeFileSync(tmp, Buffer.concat([hash, data]));
      fs.renameSync(tmp, file);
    } catch {
      // only a cache
    }
  }
}

if (mode !== 'off' && !Module.prototype._compile.curateCodeCache) {
  const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const cached = function (content, filename) {
    if (!filename.startsWith(dir) || importModuleDynamically === undefined) {
      return compile.call(this, content, filename);
    }
    // a hashbang line is a comment only at the very start of a source, not inside the wrapper
    const source = content.startsWith('#!') ? `//${content.slice(2)}` : content;
    const script = new vm.Script(Module.wrap(source), {
      filename,
      cachedData: mode === 'write' ? undefined : readCache(filename, content),
      importModuleDynamically,
    });
    if (mode === 'write') compiled.push([filename, script, sha256(content)]);
    stats.files++;
    if (script.cachedDataRejected === false) stats.cached++;
    else if (script.cachedDataRejected) stats.rejected++;
    const fn = script.runInThisContext({ displayErrors: true });
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.resolve.paths = (request) => Module._resolveLookupPaths(request, this);
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return fn.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  cached.curateCodeCache = true;
  Module.prototype._compile = cached;
  if (mode === 'stats' && isMainThread) {
    process.on('exit', () => {
      process.stderr.write(`code cache: ${stats.cached} of ${stats.files} files, ${stats.rejected} rejected\n`);
    });
  }
  if (mode === 'write') {
    setInterval(writeCaches, 100).unref();
    process.on('exit', writeCaches);
  }
}
