// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The relay and its native SQLite binding live in the custom server, never in a bundle.
  serverExternalPackages: ["better-sqlite3"],
  // `npm test` type-checks the whole tree first (`tsc --noEmit`, scripts and tests included); the build's own
  // pass over the same files repeated it inside the e2e run and every `npm start` after a change.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
