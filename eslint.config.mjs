// Layer boundaries of DESIGN.md §3 as lint rules: a wrong import fails `npm run lint`.
import tseslint from "typescript-eslint";

const node = ["node:*", "fs", "path", "os", "child_process", "net", "http", "crypto", "better-sqlite3", "kysely", "pg", "ioredis"];
const group = (patterns, message) => ({ group: patterns, message });

const clientForbidden = [
  group(["**/lib/relay", "**/lib/relay/**", "@/lib/relay/**", "socket.io", "socket.io/**"], "lib/relay and the socket.io server are Node-only and never in a client bundle"),
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
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [...clientForbidden, group(["react", "react-*", "next", "next/*", "**/hooks/**", "**/components/**"], "the worker side has no UI")],
      }],
    },
  },
  {
    files: ["lib/hooks/**/*.{ts,tsx}"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [...clientForbidden,
          group(["socket.io-client", "**/lib/engine/**", "**/lib/crypto/**", "@/lib/engine/**", "@/lib/crypto/**"], "hooks reach the engine only through the worker RPC client"),
          group(["**/components/**"], "hooks do not import components")],
      }],
    },
  },
  {
    files: ["components/**/*.{ts,tsx}", "app/**/*.{ts,tsx}"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [...clientForbidden,
          group(["socket.io-client", "dexie", "dexie-*"], "components get data only through lib/hooks"),
          group(["**/lib/engine/**", "**/lib/crypto/**", "**/lib/store/**", "**/lib/worker/**", "@/lib/engine/**", "@/lib/crypto/**", "@/lib/store/**", "@/lib/worker/**"],
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
