// Junction's service worker: keeps the app shell so the inbox opens offline with its full history
// (the history itself lives in IndexedDB; this only has to serve the code that reads it).
// Hand-written on purpose: three rules, no build step.
//   navigations       network first, cached shell as the fallback
//   /_next/static/*   cache first (file names are content hashes, so a cached file never goes stale)
//   socket.io, /api, /blobs   never touched: live traffic and encrypted blobs are not the shell
const CACHE = "junction-shell-v1";
const SHELL = ["/", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // one by one, so a single failure (offline install) does not abort the worker
      await Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined)));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

// The page sends the static URLs it loaded before this worker controlled it.
self.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "cache-urls" || !Array.isArray(data.urls)) return;
  const urls = data.urls.filter((url) => typeof url === "string" && isStatic(new URL(url, self.location.origin)));
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        urls.map(async (url) => {
          if (await cache.match(url)) return;
          await cache.add(url).catch(() => undefined);
        }),
      );
    })(),
  );
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.startsWith("/_next/static/");
}

function isLive(url) {
  return url.pathname.startsWith("/socket.io") || url.pathname.startsWith("/api/") || url.pathname.startsWith("/blobs/");
}

const ASSETS_KEY = "/__junction-shell-assets";

function staticUrlsIn(html) {
  const urls = new Set();
  for (const match of html.matchAll(/\/_next\/static\/[^"'\s)]+/g)) urls.add(new URL(match[0], self.location.origin).href);
  return [...urls].sort();
}

// A new deploy changes the shell's asset list. Files of older builds are then dropped: their pages
// are gone from the server, and the current build's lazily loaded files come back through cacheFirst.
async function pruneOldBuilds(cache, html) {
  const current = staticUrlsIn(html);
  const previous = await cache.match(ASSETS_KEY).then((r) => (r ? r.json() : null)).catch(() => null);
  await cache.put(ASSETS_KEY, new Response(JSON.stringify(current), { headers: { "content-type": "application/json" } }));
  if (!Array.isArray(previous) || previous.join() === current.join()) return;
  const keep = new Set(current);
  for (const request of await cache.keys()) {
    if (isStatic(new URL(request.url)) && !keep.has(request.url)) await cache.delete(request);
  }
}

async function networkFirstShell(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put("/", response.clone());
      const html = await response.clone().text();
      // off the response path: the page need not wait for housekeeping
      void pruneOldBuilds(cache, html).catch(() => undefined);
    }
    return response;
  } catch (error) {
    const cached = (await cache.match("/")) ?? (await cache.match(request, { ignoreSearch: true }));
    if (cached) return cached;
    throw error;
  }
}

// A cached response keeps the URL of the request that stored it, fragment included, and a worker takes its
// location from its script's response. The build starts every worker from the same bootstrap file and tells
// each what to load in the fragment (`#params=…`), which the cache's key ignores: served as it was stored,
// the engine's worker would read the I/O worker's fragment and become a second I/O worker (or the other way
// round). A response made here has no URL of its own, so the worker keeps the one it asked for.
function withoutStoredUrl(response) {
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return request.destination === "worker" || request.destination === "sharedworker" ? withoutStoredUrl(cached) : cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function staleWhileRevalidate(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  const fresh = fetch(request)
    .then(async (response) => {
      if (response.ok) await cache.put(request, response.clone());
      return response;
    })
    .catch(() => cached ?? Response.error());
  return cached ?? fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isLive(url)) return;
  if (request.mode === "navigate") {
    // the app is one page: every navigation inside the scope is the shell
    if (url.pathname === "/") event.respondWith(networkFirstShell(request));
    return;
  }
  if (isStatic(url)) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(staleWhileRevalidate(request));
});

// A click on a message notification opens (or focuses) the app at that conversation.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url ?? "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const existing = windows[0];
      if (existing) {
        await existing.focus();
        await existing.navigate(target.href).catch(() => undefined);
        return;
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
