/**
 * The npm packages the guest image carries at /opt/gw/node_modules: the production
 * dependency closure of the SDKs that connector workers load inside the microVM (the image
 * holds dist/ but not the project's node_modules).
 *
 * Dependencies are resolved the way Node.js resolves them (the package's own node_modules,
 * then each folder above it up to the project's), and every package keeps its path relative
 * to the project's node_modules, so the same resolution works in the guest. Optional
 * dependencies are followed when installed. A package with a native addon (binding.gyp or a
 * .node file), or one that needs such a package, is left out and reported: the guest runs
 * pure JavaScript only (modbus-serial's TCP path never loads serialport). TypeScript files
 * and source maps are not copied: Node.js never loads them. Everything is sorted, so the
 * result is deterministic.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../errors.js';

/**
 * The SDKs connector workers import inside the microVM, and the two packages of dist/ that
 * the connectors' shared modules import (zod: manifests and schemas; smol-toml: config
 * loading, next to readSecret), so a worker reuses the host's connector code unchanged.
 */
export const GUEST_PACKAGES: readonly string[] = [
  'plaid', 'smartcar', 'modbus-serial', 'roslib', 'zod', 'smol-toml',
];

export interface GuestPackage {
  /** Path relative to the project's node_modules, e.g. `modbus-serial/node_modules/debug`. */
  readonly rel: string;
  readonly name: string;
  readonly version: string;
  /** Files of the package (not of its nested node_modules), relative to it, sorted. */
  readonly files: readonly string[];
}

export interface SkippedPackage {
  readonly rel: string;
  readonly reason: string;
}

export interface GuestClosure {
  readonly packages: readonly GuestPackage[];
  readonly skipped: readonly SkippedPackage[];
}

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

/** TypeScript sources, declarations and source maps: Node.js loads none of them. */
const NOT_COPIED = /(\.[cm]?ts|\.tsx|\.map)$/;

/** Files of a package folder, sorted, without nested node_modules or type declarations. */
function packageFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!prefix && name === 'node_modules') continue;
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(path.join(dir, name));
    if (st.isDirectory()) out.push(...packageFiles(path.join(dir, name), rel));
    else if (st.isFile() && !NOT_COPIED.test(name)) out.push(rel);
  }
  return out;
}

function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Where `name` resolves from a package folder, walking up to the project's node_modules. */
function resolveFrom(fromDir: string, name: string, root: string): string | null {
  let dir = fromDir;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || path.dirname(dir) === dir) return null;
    dir = path.dirname(dir);
    // Skip the `node_modules` (and `@scope`) folders themselves on the way up.
    while (dir !== root
      && (path.basename(dir) === 'node_modules' || path.basename(dir).startsWith('@'))) {
      dir = path.dirname(dir);
    }
  }
}

function hasNativeAddon(dir: string): boolean {
  if (existsSync(path.join(dir, 'binding.gyp'))) return true;
  return packageFiles(dir).some((f) => f.endsWith('.node'));
}

interface Node {
  readonly dir: string;
  readonly json: PackageJson;
  readonly required: string[];
  readonly optional: string[];
}

/**
 * The closure of `roots` in the project at `root` (the folder holding node_modules).
 * Throws GW_IMAGE_BUILD when a root package or a required dependency is not installed.
 */
export function guestClosure(root: string, roots: readonly string[] = GUEST_PACKAGES):
GuestClosure {
  const nodes = new Map<string, Node>();
  const visit = (dir: string): void => {
    if (nodes.has(dir)) return;
    const json = readPackageJson(dir);
    const node: Node = { dir, json, required: [], optional: [] };
    nodes.set(dir, node);
    const optional = json.optionalDependencies ?? {};
    for (const dep of Object.keys(json.dependencies ?? {}).sort()) {
      if (Object.hasOwn(optional, dep)) continue;
      const found = resolveFrom(dir, dep, root);
      if (!found) {
        throw new GatewayError('GW_IMAGE_BUILD', `guest packages: ${dep} (needed by ` +
          `${json.name ?? dir}) is not installed: run npm ci`);
      }
      node.required.push(found);
      visit(found);
    }
    for (const dep of Object.keys(optional).sort()) {
      const found = resolveFrom(dir, dep, root);
      if (!found) continue;
      node.optional.push(found);
      visit(found);
    }
  };
  const rootDirs = roots.map((name) => {
    const dir = resolveFrom(root, name, root);
    if (!dir) {
      throw new GatewayError('GW_IMAGE_BUILD', `guest package ${name} is not installed: ` +
        'run npm ci');
    }
    return dir;
  });
  for (const dir of rootDirs) visit(dir);

  // Native: has an addon itself, or needs (not optionally) a package that is native.
  const native = new Map<string, string>();
  const nativeReason = (dir: string, seen: Set<string>): string | null => {
    if (native.has(dir)) return native.get(dir) ?? null;
    if (seen.has(dir)) return null;
    seen.add(dir);
    let reason: string | null = hasNativeAddon(dir) ? 'native addon' : null;
    for (const dep of nodes.get(dir)?.required ?? []) {
      if (reason) break;
      const r = nativeReason(dep, seen);
      if (r) reason = `needs ${nodes.get(dep)?.json.name ?? dep} (${r})`;
    }
    if (reason) native.set(dir, reason);
    return reason;
  };
  const included = new Set<string>();
  const skipped = new Map<string, string>();
  const include = (dir: string): void => {
    if (included.has(dir) || skipped.has(dir)) return;
    const reason = nativeReason(dir, new Set());
    if (reason) {
      skipped.set(dir, reason);
      return;
    }
    included.add(dir);
    const node = nodes.get(dir);
    for (const dep of [...(node?.required ?? []), ...(node?.optional ?? [])]) include(dep);
  };
  for (const dir of rootDirs) include(dir);

  const nm = path.join(root, 'node_modules');
  const rel = (dir: string): string => path.relative(nm, dir).split(path.sep).join('/');
  const packages = [...included].map((dir) => {
    const json = nodes.get(dir)?.json ?? {};
    return { rel: rel(dir), name: json.name ?? rel(dir), version: json.version ?? '',
      files: packageFiles(dir) };
  }).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const skippedList = [...skipped].map(([dir, reason]) => ({ rel: rel(dir), reason }))
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { packages, skipped: skippedList };
}

/** Copies the closure into `<dest>/<rel>/...` (dest: the staging tree's node_modules). */
export function copyClosure(root: string, closure: GuestClosure, dest: string): number {
  let n = 0;
  for (const p of closure.packages) {
    for (const f of p.files) {
      const to = path.join(dest, p.rel, f);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(root, 'node_modules', p.rel, f), to);
      n++;
    }
  }
  return n;
}

/** One line for the build's progress: how many packages, and which were left out and why. */
export function describeClosure(closure: GuestClosure): string {
  const skipped = closure.skipped.map((p) => `${p.rel}: ${p.reason}`).join('; ');
  return `guest packages: ${closure.packages.length} copied; skipped: ${skipped || 'none'}`;
}
