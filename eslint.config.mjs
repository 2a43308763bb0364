// Layer boundaries of DESIGN.md §3 as lint rules: a wrong import fails `npm run lint`.
import tseslint from "typescript-eslint";

// Bare module names are `paths` (exact), so that Node's "crypto" does not also match our own lib/crypto.
const nodeModules = ["fs", "path", "os", "child_process", "net", "http", "https", "crypto", "stream", "better-sqlite3", "kysely", "pg", "ioredis"];
const node = ["node:*"];
const group = (patterns, message) => ({ group: patterns, message });
// A lib/ layer as imported from anywhere: "@/lib/x/…", "../lib/x/…", or "../x/…" from a sibling layer.
const layer = (name) => [`**/lib/${name}`, `**/lib/${name}/**`, `../${name}`, `../${name}/**`];
const nodePaths = (message) => nodeModules.map((name) => ({ name, message }));

const clientForbidden = [
  group([...layer("relay"), "socket.io", "socket.io/**"], "lib/relay and the socket.io server are Node-only and never in a client bundle"),
  group(node, "client code runs in the browser: no Node modules"),
];

export default tseslint.config(
  { ignores: [".next/**", "node_modules/**", "data/**", ".e2e-data/**", "test-results/**", "playwright-report/**", "public/**", "next-env.d.ts"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    files: ["lib/crypto/**/*.ts"],
    ignores: ["lib/crypto/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: nodePaths("lib/crypto is pure: no Node modules"),
        patterns: [
          group(["dexie", "dexie-*", "socket.io*", "react", "react-*", "next", "next/*", ...node], "lib/crypto is pure: @noble/* and lib/protocol types only"),
          group(["**/store/**", "**/engine/**", "**/relay/**", "**/worker/**", "**/hooks/**", "**/components/**", "**/app/**"], "lib/crypto may not depend on other layers"),
        ],
      }],
      "no-restricted-globals": ["error", "window", "document", "self", "localStorage", "indexedDB", "navigator", "fetch", "process"],
    },
  },
  {
    files: ["lib/protocol/**/*.ts", "lib/brands.ts"],
    ignores: ["lib/protocol/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: nodePaths("lib/protocol is pure: no Node modules"),
        patterns: [group(["dexie*", "socket.io*", "react*", "next*", "@noble/*", ...node, "**/store/**", "**/engine/**", "**/relay/**", "**/worker/**", "**/hooks/**", "**/crypto/**"], "lib/protocol is shared wire contract: zod and lib/brands only")],
      }],
      "no-restricted-globals": ["error", "window", "document", "self", "localStorage", "indexedDB", "process"],
    },
  },
  {
    files: ["lib/relay/**/*.ts"],
    ignores: ["lib/relay/**/*.test.ts", "lib/relay/test/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [group(["dexie*", "react*", "socket.io-client", "**/store/**", "**/engine/**", "**/worker/**", "**/hooks/**", "**/components/**"], "lib/relay never imports client code")],
      }],
    },
  },
  {
    files: ["lib/store/**/*.ts", "lib/engine/**/*.ts", "lib/worker/**/*.ts"],
    // *.testing.ts: what Node's tests put in place of a browser's facility (never in a bundle)
    ignores: ["**/*.test.ts", "**/*.testing.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: nodePaths("client code runs in the browser: no Node modules"),
        patterns: [...clientForbidden, group(["react", "react-*", "next", "next/*", "**/hooks/**", "**/components/**"], "the worker side has no UI")],
      }],
    },
  },
  {
    files: ["lib/hooks/**/*.{ts,tsx}"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: nodePaths("client code runs in the browser: no Node modules"),
        patterns: [...clientForbidden,
          group(["socket.io-client", ...layer("engine"), ...layer("crypto")], "hooks reach the engine only through the worker RPC client"),
          group(["**/components/**"], "hooks do not import components")],
      }],
    },
  },
  {
    files: ["components/**/*.{ts,tsx}", "app/**/*.{ts,tsx}"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: nodePaths("client code runs in the browser: no Node modules"),
        patterns: [...clientForbidden,
          group(["socket.io-client", "dexie", "dexie-*"], "components get data only through lib/hooks"),
          group([...layer("engine"), ...layer("crypto"), ...layer("store"), ...layer("worker")],
            "components use lib/hooks (and lib/brands, lib/protocol types); they never touch keys, storage or the worker"),
        ],
      }],
    },
  },
  {
    files: ["scripts/**", "e2e/**", "**/*.test.ts", "lib/relay/main.ts"],
    rules: { "no-console": "off" },
  },
);
