// Load the start-up bundle with the V8 code cache the build made for it (dist/srs.js.cache): V8
// then skips parsing and compiling what every start runs, about a third of the bundle's load
// time. Node 20 has no built-in compile cache (module.enableCompileCache is Node 22).
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import Module, { createRequire } from 'node:module';

interface ModuleInternals {
  filename: string;
  paths: string[];
  loaded: boolean;
  exports: unknown;
}

function compile(file: string, cachedData: Buffer | undefined): { script: vm.Script; run: () => unknown } {
  const source = fs.readFileSync(file, 'utf8');
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const run = (): unknown => {
    const mod = new Module(file, require.main ?? undefined) as unknown as ModuleInternals;
    mod.filename = file;
    mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
    const wrapper = script.runInThisContext() as (exports: unknown, req: NodeRequire, module: unknown, filename: string, dirname: string) => void;
    wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
    mod.loaded = true;
    return mod.exports;
  };
  return { script, run };
}

// V8 checks a cache against the source's length, not its content: a cache is used only for the
// exact file it was made from, as its size and mtime say (cp -p and make install keep mtimes).
const HEADER_BYTES = 16;

function stamp(file: string): Buffer {
  const st = fs.statSync(file);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeDoubleLE(st.mtimeMs, 0);
  header.writeDoubleLE(st.size, 8);
  return header;
}

/**
 * `require(file)`, with its code cache when there is a valid one. A missing or stale cache (another
 * build, another Node, other V8 flags) costs nothing but the speed-up: it is ignored, or V8 rejects
 * it and compiles as usual.
 */
export function requireWithCodeCache<T>(file: string): T {
  let cache: Buffer;
  try {
    cache = fs.readFileSync(`${file}.cache`);
  } catch {
    return require(file) as T;
  }
  if (cache.length <= HEADER_BYTES || !cache.subarray(0, HEADER_BYTES).equals(stamp(file))) return require(file) as T;
  return compile(file, cache.subarray(HEADER_BYTES)).run() as T;
}

/** Build step: run the bundle's module code once (not main) and write what V8 compiled. */
export function writeCodeCache(file: string): { bytes: number } {
  const { script, run } = compile(file, undefined);
  run();
  const data = script.createCachedData();
  fs.writeFileSync(`${file}.cache`, Buffer.concat([stamp(file), data]));
  return { bytes: data.length };
}
