/**
 * The import rules of ARCHITECTURE.md, checked on every `.ts` file of the repository: each
 * broken rule is reported with the file, line and import.
 * @module
 */
import assert from "node:assert/strict";
import { type ModuleImport, scanModule } from "./fixtures/module_imports.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SKIPPED_DIRS = new Set([".git", "node_modules", "results", ".spirit"]);

/** A module of the repository: its path from the root, imports (resolved) and blanked code. */
interface Module {
  path: string;
  imports: Array<ModuleImport & { target: string | null }>;
  code: string;
}

function walk(dir: string, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) {
      files.push(...walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${prefix}${entry.name}`);
  }
  return files;
}

/** `specifier` resolved against `from` as a path from the root; null for bare and URL specifiers. */
function resolveTarget(from: string, specifier: string): string | null {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  const url = new URL(specifier, `file:///${from}`);
  return decodeURIComponent(url.pathname.slice(1));
}

function loadModules(): Module[] {
  return walk(ROOT.replace(/\/$/, "")).sort().map((path) => {
    const { imports, code } = scanModule(Deno.readTextFileSync(`${ROOT}${path}`));
    return {
      path,
      imports: imports.map((i) => ({ ...i, target: resolveTarget(path, i.specifier) })),
      code,
    };
  });
}

const MODULES = loadModules();

const isTest = (path: string) => path.startsWith("test/") || /_test\.ts$/.test(path);
const under = (path: string | null, ...dirs: string[]) =>
  path !== null && dirs.some((dir) => path.startsWith(`${dir}/`));
const describe = (m: Module, i: ModuleImport) =>
  `${m.path}:${i.line} imports "${i.specifier}"${i.typeOnly ? " (type only)" : ""}`;

/** Every import of the modules `where` selects that `broken` says breaks the rule. */
function violations(
  where: (path: string) => boolean,
  broken: (i: Module["imports"][number], m: Module) => boolean,
): string[] {
  return MODULES.filter((m) => where(m.path)).flatMap((m) =>
    m.imports.filter((i) => broken(i, m)).map((i) => describe(m, i))
  );
}

/** Lines of the modules `where` selects whose code (comments and strings blanked) matches. */
function codeMatches(where: (path: string) => boolean, pattern: RegExp): string[] {
  return MODULES.filter((m) => where(m.path)).flatMap((m) =>
    m.code.split("\n").flatMap((text, index) =>
      pattern.test(text) ? [`${m.path}:${index + 1}: ${text.trim()}`] : []
    )
  );
}

function assertNone(found: string[], rule: string): void {
  assert.deepEqual(found, [], `${rule}:\n  ${found.join("\n  ")}`);
}

Deno.test("import rules: the scan sees the repository's modules and their imports", () => {
  const cli = MODULES.find((m) => m.path === "controller/cli.ts");
  assert.ok(cli, "controller/cli.ts not found");
  assert.ok(cli.imports.some((i) => i.target === "host/program.ts"));
  assert.ok(MODULES.length > 100, `only ${MODULES.length} modules found`);
});

Deno.test("import rules: production code never imports test/", () => {
  assertNone(
    violations((path) => !isTest(path), (i) => under(i.target, "test")),
    "production code imports test/",
  );
});

Deno.test("import rules: agent/ and memserver/ do not import each other", () => {
  assertNone(
    [
      ...violations((path) => under(path, "agent"), (i) => under(i.target, "memserver")),
      ...violations((path) => under(path, "memserver"), (i) => under(i.target, "agent")),
    ],
    "agent/ and memserver/ import each other",
  );
});

Deno.test("import rules: host-side areas never import controller/", () => {
  assertNone(
    violations(
      (path) => under(path, "agent", "memserver", "workloads", "ffi", "common", "host"),
      (i) => under(i.target, "controller"),
    ),
    "agent/, memserver/, workloads/, ffi/, common/ or host/ imports controller/",
  );
});

Deno.test("import rules: memserver/, workloads/ and ffi/ import only the layers below them", () => {
  const allowed: Record<string, string[]> = {
    ffi: ["ffi", "common"],
    memserver: ["memserver", "ffi", "common"],
    workloads: ["workloads", "memserver", "ffi", "common"],
  };
  const found = Object.entries(allowed).flatMap(([area, ok]) =>
    violations(
      (path) => under(path, area) && !isTest(path),
      (i) => i.target !== null && !under(i.target, ...ok),
    )
  );
  assertNone(found, "a lower layer imports an area above it");
});

Deno.test("import rules: common/ imports no area", () => {
  assertNone(
    violations(
      (path) => under(path, "common") && !isTest(path),
      (i) => i.target !== null && !under(i.target, "common"),
    ),
    "common/ imports an area",
  );
});

/** Packages pure code may import: validation only, no I/O. */
const PURE_PACKAGES = new Set(["zod"]);

Deno.test("import rules: auction/ and estimator/ import only each other, common/ and zod", () => {
  const pure = (path: string) =>
    under(path, "controller/auction", "controller/estimator") && !isTest(path);
  assertNone(
    violations(pure, (i, m) => {
      if (i.target === null) return !PURE_PACKAGES.has(i.specifier);
      if (under(i.target, "controller/auction", "controller/estimator", "common")) return false;
      // The estimator reads the agent's sample type (pure types, erased when compiled).
      return !(i.typeOnly && i.target === "agent/protocol.ts" &&
        under(m.path, "controller/estimator"));
    }),
    "pure market or estimator code imports something with side effects",
  );
});

Deno.test("import rules: auction/ and estimator/ do not use Deno", () => {
  assertNone(
    codeMatches(
      (path) => under(path, "controller/auction", "controller/estimator") && !isTest(path),
      /\bDeno\./,
    ),
    "pure market or estimator code uses Deno",
  );
});

Deno.test("import rules: Deno.dlopen and Deno.Unsafe* appear only in ffi/", () => {
  assertNone(
    codeMatches(
      (path) => !under(path, "ffi") && !isTest(path),
      /\bDeno\.(dlopen|Unsafe[A-Za-z]*)\b/,
    ),
    "FFI outside ffi/",
  );
});

Deno.test("import rules: the C library is opened once, by ffi/libc.ts", () => {
  assertNone(
    codeMatches(
      (path) => path !== "ffi/libc.ts" && path !== "ffi/library.ts" && !isTest(path),
      /\bLIBC_PATHS\b|openLibrary\(\s*"libc"/,
    ),
    "libc opened outside ffi/libc.ts",
  );
});

Deno.test("import rules: the host entry point (the deployed bundle) imports no controller code", () => {
  const seen = new Set<string>();
  const stack = ["host/cli.ts"];
  while (stack.length > 0) {
    const path = stack.pop() ?? "";
    if (seen.has(path)) continue;
    seen.add(path);
    const module = MODULES.find((m) => m.path === path);
    assert.ok(module, `${path} is imported but not found`);
    for (const i of module.imports) if (i.target !== null) stack.push(i.target);
  }
  const reached = [...seen].filter((path) => under(path, "controller", "test")).sort();
  assert.deepEqual(reached, [], `host/cli.ts reaches ${reached.join(", ")}`);
  assert.ok(seen.has("agent/command.ts") && seen.has("memserver/command.ts"));
  const packages = MODULES.filter((m) => seen.has(m.path)).flatMap((m) =>
    m.imports.filter((i) => i.target === null).map((i) => i.specifier)
  );
  assert.ok(!packages.some((p) => p.startsWith("vega")), "the host bundle would carry vega");
});

Deno.test("module scanner reads multi-line, type-only, re-export and dynamic imports", () => {
  const { imports } = scanModule([
    'import {\n  a,\n  b,\n} from "./a.ts";',
    'import type { T } from "./types.ts";',
    'export * from "./all.ts";',
    'export type { U } from "./u.ts";',
    'const m = await import("./lazy.ts");',
    'import "./side_effect.ts";',
  ].join("\n"));
  assert.deepEqual(
    imports.map((i) => [i.specifier, i.kind, i.typeOnly, i.line]),
    [
      ["./a.ts", "static", false, 1],
      ["./types.ts", "static", true, 5],
      ["./all.ts", "static", false, 6],
      ["./u.ts", "static", true, 7],
      ["./lazy.ts", "dynamic", false, 8],
      ["./side_effect.ts", "static", false, 9],
    ],
  );
});

Deno.test("module scanner ignores imports inside comments, strings, templates and regexes", () => {
  const { imports, code } = scanModule([
    '// import { x } from "./comment.ts";',
    '/* import "./block.ts"; */',
    'const s = "import { y } from \\"./string.ts\\"";',
    'const t = `import "./template.ts" ${`${"nested"}`} done`;',
    'const r = /import "\\.\\/regex.ts"/;',
    'const d = Deno.env.get("Deno.dlopen");',
    'import { real } from "./real.ts";',
  ].join("\n"));
  assert.deepEqual(imports.map((i) => i.specifier), ["./real.ts"]);
  assert.doesNotMatch(code, /dlopen|comment\.ts|template\.ts/);
  assert.match(code, /Deno\.env\.get/);
});
