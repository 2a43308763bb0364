// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The relay and its native SQLite binding live in the custom server, never in a bundle.
  serverExternalPackages: ["better-sqlite3"],
};

export default nextConfig;
